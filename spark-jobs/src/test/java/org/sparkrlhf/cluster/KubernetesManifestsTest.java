package org.sparkrlhf.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** cluster-configs/kubernetes read into the Kubernetes (fabric8) and Spark-operator models, and checked against the jobs and the image. */
class KubernetesManifestsTest {
    static final Path DIR = Path.of("../cluster-configs/kubernetes").toAbsolutePath().normalize();
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    static List<JsonNode> documents(String file) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (var parser = YAML.getFactory().createParser(DIR.resolve(file).toFile())) {
            YAML.readValues(parser, JsonNode.class).forEachRemaining(d -> {
                if (d != null && !d.isEmpty()) docs.add(d);
            });
        }
        return docs;
    }

    static <T> T read(JsonNode doc, Class<T> type, String where) throws IOException {
        T value = YAML.treeToValue(doc, type);
        List<String> unknown = new ArrayList<>();
        unknownFields(value, where, unknown);
        assertEquals(List.of(), unknown, "fields the Kubernetes API does not know (misspelt or misplaced)");
        return value;
    }

    /** fabric8 keeps fields it does not know in additionalProperties: any there is a mistake in the manifest. */
    static void unknownFields(Object o, String path, List<String> out) {
        if (o == null || o instanceof String || o instanceof Number || o instanceof Boolean || o instanceof Enum<?> || o instanceof Quantity) return;
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object e : c) unknownFields(e, path + "[" + i++ + "]", out);
            return;
        }
        if (o instanceof Map<?, ?> m) {
            m.forEach((k, v) -> unknownFields(v, path + "." + k, out));
            return;
        }
        if (o instanceof Record r) {
            for (var c : r.getClass().getRecordComponents()) {
                try {
                    unknownFields(c.getAccessor().invoke(r), path + "." + c.getName(), out);
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            }
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.")) return;
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || !m.getName().startsWith("get") || m.getName().equals("getClass")) continue;
            try {
                Object v = m.invoke(o);
                if (m.getName().equals("getAdditionalProperties")) {
                    if (v instanceof Map<?, ?> extra && !extra.isEmpty()) out.add(path + ": " + extra.keySet());
                } else {
                    unknownFields(v, path + "." + m.getName().substring(3), out);
                }
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    static String dockerfileDestination(String source) throws IOException {
        Matcher m = Pattern.compile("(?m)^COPY\\s+" + Pattern.quote(source) + "\\s+(\\S+)$").matcher(Files.readString(DIR.resolve("Dockerfile")));
        assertTrue(m.find(), "the Dockerfile copies " + source);
        return m.group(1);
    }

    @Test
    void rbacIsTheLeastTheDriverNeeds() throws IOException {
        List<JsonNode> docs = documents("rbac.yaml");
        assertEquals(3, docs.size());
        ServiceAccount sa = read(docs.get(0), ServiceAccount.class, "rbac.yaml#0");
        Role role = read(docs.get(1), Role.class, "rbac.yaml#1");
        RoleBinding binding = read(docs.get(2), RoleBinding.class, "rbac.yaml#2");
        assertEquals("spark-rlhf", sa.getMetadata().getName());

        Map<String, Set<String>> allowed = Map.of("pods", Set.of("create", "get", "list", "watch", "delete", "deletecollection"),
                "services", Set.of("create", "get", "delete"), "configmaps", Set.of("create", "get", "list", "delete", "deletecollection"));
        for (PolicyRule r : role.getRules()) {
            assertEquals(List.of(""), r.getApiGroups(), "core API group only");
            for (String resource : r.getResources()) {
                assertTrue(allowed.containsKey(resource), "the driver has no business with " + resource);
                assertTrue(allowed.get(resource).containsAll(r.getVerbs()), resource + ": " + r.getVerbs());
            }
        }
        assertEquals(sa.getMetadata().getNamespace(), role.getMetadata().getNamespace(), "a namespaced Role, not a ClusterRole");
        assertEquals(role.getMetadata().getName(), binding.getRoleRef().getName());
        assertEquals("Role", binding.getRoleRef().getKind());
        assertEquals(sa.getMetadata().getName(), binding.getSubjects().get(0).getName());
        assertEquals(sa.getMetadata().getNamespace(), binding.getSubjects().get(0).getNamespace());
    }

    @Test
    void podTemplatesGiveExecutorsOneGpuAndTheDriverItsAccount() throws IOException {
        Pod executor = read(documents("executor-pod-template.yaml").get(0), Pod.class, "executor-pod-template.yaml");
        var limits = executor.getSpec().getContainers().get(0).getResources().getLimits();
        assertEquals(new Quantity("1"), limits.get("nvidia.com/gpu"));
        assertTrue(executor.getSpec().getTolerations().stream().anyMatch(t -> "nvidia.com/gpu".equals(t.getKey())));
        Pod driver = read(documents("driver-pod-template.yaml").get(0), Pod.class, "driver-pod-template.yaml");
        assertEquals("spark-rlhf", driver.getSpec().getServiceAccountName());
        assertTrue(driver.getSpec().getContainers().get(0).getResources() == null, "the driver asks for no GPU");
    }

    /** The application's main class, arguments and files must be what the image and the job CLI really have. */
    static void checkApplication(SparkOperatorModel.Spec spec, String where) throws Exception {
        assertEquals(SparkOperatorModel.Type.Java, spec.type());
        assertEquals(SparkOperatorModel.Mode.cluster, spec.mode());
        assertTrue(spec.sparkVersion().startsWith("3.5."), where + ": the Spark line we build against");
        assertEquals("local://" + dockerfileDestination("spark-jobs/target/spark-jobs-0.1.0-SNAPSHOT-app.jar"), spec.mainApplicationFile());
        assertEquals(dockerfileDestination("cluster-configs/gpu/discover-gpus.sh"), spec.sparkConf().get("spark.executor.resource.gpu.discoveryScript"));

        assertNotNull(JobArguments.accepted(spec.mainClass(), spec.arguments(), where));

        assertEquals("false", spec.sparkConf().get("spark.dynamicAllocation.enabled"), "synchronous steps need a fixed set of executors");
        assertEquals("1", spec.sparkConf().get("spark.executor.resource.gpu.amount"));
        assertEquals("1", spec.sparkConf().get("spark.task.resource.gpu.amount"));
        assertEquals(new SparkOperatorModel.Gpu("nvidia.com/gpu", 1L), spec.executor().gpu());
        assertEquals(String.valueOf(spec.executor().cores()), spec.sparkConf().get("spark.task.cpus"), "one task per executor owns its GPU and cores");
        assertEquals("spark-rlhf", spec.driver().serviceAccount());
        assertTrue(spec.executor().javaOptions().contains("org.bytedeco.javacpp.maxbytes"), "ND4J's off-heap limit is set");
    }

    @Test
    void ppoApplicationMatchesTheImageAndTheJobCli() throws Exception {
        var app = read(documents("ppo-application.yaml").get(0), SparkOperatorModel.SparkApplication.class, "ppo-application.yaml");
        assertEquals("sparkoperator.k8s.io/v1beta2", app.apiVersion());
        assertEquals("SparkApplication", app.kind());
        checkApplication(app.spec(), "ppo-application.yaml");
        assertTrue(app.spec().arguments().contains("run.resume=true"), "a restarted application resumes");
    }

    @Test
    void nightlyRewardScheduleResumesAndTakesUpNewData() throws Exception {
        var s = read(documents("reward-model-schedule.yaml").get(0), SparkOperatorModel.ScheduledSparkApplication.class, "reward-model-schedule.yaml");
        assertEquals("ScheduledSparkApplication", s.kind());
        assertTrue(s.spec().schedule().matches("(\\S+\\s+){4}\\S+"), "a five-field cron schedule: " + s.spec().schedule());
        assertEquals(SparkOperatorModel.ConcurrencyPolicy.Forbid, s.spec().concurrencyPolicy(), "a round is never trained twice at once");
        checkApplication(s.spec().template(), "reward-model-schedule.yaml");
        assertEquals("org.sparkrlhf.jobs.RewardJob", s.spec().template().mainClass());
        assertTrue(s.spec().template().arguments().contains("run.recurring=true"));
    }

    @Test
    void aMisspeltFieldIsCaught() throws IOException {
        JsonNode doc = YAML.readTree("apiVersion: v1\nkind: Pod\nspec:\n  tolerration: []\n");
        List<String> unknown = new ArrayList<>();
        unknownFields(YAML.treeToValue(doc, Pod.class), "pod", unknown);
        assertFalse(unknown.isEmpty());
    }
}
