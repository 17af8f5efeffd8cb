package org.sparkrlhf.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** cluster-configs/yarn (submit script, Spark settings) and the systemd schedule, checked against the jobs' real CLI. */
class YarnConfigsTest {
    static final Path CONFIGS = Path.of("../cluster-configs").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    record Run(int code, List<String> args, String err) {}

    /** Runs submit.sh against a fake SPARK_HOME whose spark-submit prints its arguments, one per line. */
    Run submit(Map<String, String> env, String... args) throws Exception {
        Path bin = dir.resolve("spark/bin");
        Files.createDirectories(bin);
        Path fake = bin.resolve("spark-submit");
        Files.writeString(fake, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n");
        assertTrue(fake.toFile().setExecutable(true));
        Path jar = dir.resolve("app.jar");
        if (!Files.exists(jar)) Files.writeString(jar, "jar");
        List<String> cmd = new ArrayList<>(List.of("bash", CONFIGS.resolve("yarn/submit.sh").toString()));
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("SPARK_HOME", dir.resolve("spark").toString());
        pb.environment().put("RLHF_APP_JAR", jar.toString());
        for (String k : new String[]{"RLHF_PRINCIPAL", "RLHF_KEYTAB", "RLHF_QUEUE", "RLHF_SUBMIT_OPTS", "RLHF_PROPERTIES"}) pb.environment().remove(k);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), out.isEmpty() ? List.of() : List.of(out.split("\n")), err);
    }

    @Test
    void submitScriptBuildsTheSparkSubmitCommandOfEachJob() throws Exception {
        Run r = submit(Map.of(), "reward", "hdfs:///rlhf/reward.yaml", "--set", "run.recurring=true");
        assertEquals(0, r.code(), r.err());
        List<String> a = r.args();
        assertEquals(List.of("--class", "org.sparkrlhf.jobs.RewardJob", "--name", "rlhf-reward"), a.subList(0, 4));
        assertEquals(List.of(dir.resolve("app.jar").toString(), "--config", "hdfs:///rlhf/reward.yaml", "--set", "run.recurring=true"),
                a.subList(a.size() - 5, a.size()));
        // the settings file arrives as --conf pairs: the cluster's own spark-defaults.conf still applies
        Properties defaults = sparkDefaults();
        List<String> confs = new ArrayList<>();
        for (int i = 4; i < a.size() - 5; i += 2) {
            assertEquals("--conf", a.get(i));
            confs.add(a.get(i + 1));
        }
        assertEquals(defaults.size(), confs.size());
        for (String k : defaults.stringPropertyNames()) assertTrue(confs.contains(k + "=" + defaults.getProperty(k).trim()), k + " in " + confs);
        for (String[] job : new String[][]{{"pretrain", "PretrainJob"}, {"sft", "SftJob"}, {"ppo", "PpoJob"}})
            assertTrue(submit(Map.of(), job[0], "c.yaml").args().contains("org.sparkrlhf.jobs." + job[1]));
    }

    @Test
    void settingsFilesMayUseEitherPropertiesSyntax() throws Exception {
        Path props = dir.resolve("mine.conf");
        Files.writeString(props, "# a comment\n\n  spark.a.b   -Dx=1 -Dy=2  \nspark.c.d=e\n");
        Run r = submit(Map.of("RLHF_PROPERTIES", props.toString()), "sft", "c.yaml");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of("--class", "org.sparkrlhf.jobs.SftJob", "--name", "rlhf-sft", "--conf", "spark.a.b=-Dx=1 -Dy=2", "--conf", "spark.c.d=e"),
                r.args().subList(0, 8));
    }

    @Test
    void kerberosQueueAndExtraOptionsReachSparkSubmit() throws Exception {
        Path keytab = dir.resolve("rlhf.keytab");
        Files.writeString(keytab, "k");
        Run r = submit(Map.of("RLHF_PRINCIPAL", "rlhf@EXAMPLE.COM", "RLHF_KEYTAB", keytab.toString(), "RLHF_QUEUE", "ml",
                "RLHF_SUBMIT_OPTS", "--conf spark.executor.instances=8"), "ppo", "c.yaml");
        assertEquals(0, r.code(), r.err());
        String joined = String.join(" ", r.args());
        assertTrue(joined.contains("--principal rlhf@EXAMPLE.COM --keytab " + keytab), joined);
        assertTrue(joined.contains("--queue ml") && joined.contains("--conf spark.executor.instances=8"), joined);
    }

    @Test
    void mistakesAreErrorsThatNameTheFix() throws Exception {
        Run unknown = submit(Map.of(), "train", "c.yaml");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("unknown job 'train'"), unknown.err());
        Run half = submit(Map.of("RLHF_PRINCIPAL", "rlhf@EXAMPLE.COM"), "ppo", "c.yaml");
        assertEquals(2, half.code());
        assertTrue(half.err().contains("set both RLHF_PRINCIPAL and RLHF_KEYTAB"), half.err());
        Run noJar = submit(Map.of("RLHF_APP_JAR", dir.resolve("missing.jar").toString()), "ppo", "c.yaml");
        assertEquals(2, noJar.code());
        assertTrue(noJar.err().contains("missing.jar does not exist"), noJar.err());
        assertEquals(2, submit(Map.of(), "ppo").code(), "usage without a config");
    }

    static Properties sparkDefaults() throws Exception {
        Properties p = new Properties();
        try (FileReader r = new FileReader(CONFIGS.resolve("yarn/spark-defaults.conf").toFile(), StandardCharsets.UTF_8)) {
            p.load(r);
        }
        return p;
    }

    @Test
    void sparkDefaultsKeepExecutorsFixedWithOneGpuEach() throws Exception {
        Properties p = sparkDefaults();
        for (String k : p.stringPropertyNames()) assertTrue(k.startsWith("spark."), k);
        assertEquals("false", p.getProperty("spark.dynamicAllocation.enabled").trim());
        assertEquals("1", p.getProperty("spark.executor.resource.gpu.amount").trim());
        assertEquals("1", p.getProperty("spark.task.resource.gpu.amount").trim());
        assertEquals(p.getProperty("spark.executor.cores").trim(), p.getProperty("spark.task.cpus").trim(), "one task per executor");
        assertEquals("/opt/spark-rlhf/discover-gpus.sh", p.getProperty("spark.executor.resource.gpu.discoveryScript").trim());
    }

    /** A systemd unit file as sections of keys (comments and blank lines dropped). */
    static Map<String, Map<String, String>> unit(String file) throws Exception {
        Map<String, Map<String, String>> sections = new LinkedHashMap<>();
        Map<String, String> current = null;
        for (String line : Files.readAllLines(CONFIGS.resolve("schedules/" + file))) {
            String l = line.trim();
            if (l.isEmpty() || l.startsWith("#") || l.startsWith(";")) continue;
            if (l.startsWith("[")) sections.put(l.substring(1, l.length() - 1), current = new LinkedHashMap<>());
            else current.put(l.substring(0, l.indexOf('=')).trim(), l.substring(l.indexOf('=') + 1).trim());
        }
        return sections;
    }

    @Test
    void theNightlyTimerRunsARecurringRoundThatTheJobAccepts() throws Exception {
        var timer = unit("rlhf-reward.timer");
        var service = unit("rlhf-reward.service");
        assertEquals("rlhf-reward.service", timer.get("Timer").get("Unit"));
        assertEquals("true", timer.get("Timer").get("Persistent"), "a round missed while the node was down still runs");
        assertTrue(timer.get("Timer").containsKey("OnCalendar"));
        assertEquals("oneshot", service.get("Service").get("Type"), "the timer does not start a round while one runs");

        List<String> exec = List.of(service.get("Service").get("ExecStart").split("\\s+"));
        assertTrue(exec.get(0).endsWith("cluster-configs/yarn/submit.sh"), exec.get(0));
        assertEquals("reward", exec.get(1));
        List<String> jobArgs = new ArrayList<>(List.of("--config", "hdfs:///rlhf/configs/reward.yaml"));
        jobArgs.addAll(exec.subList(3, exec.size()));
        assertTrue(JobArguments.accepted("org.sparkrlhf.jobs.RewardJob", jobArgs, "rlhf-reward.service").run().recurring());
        for (String line : Files.readAllLines(CONFIGS.resolve("schedules/env.example")))
            if (!line.isBlank() && !line.startsWith("#")) assertTrue(line.matches("[A-Z_]+=\\S+"), "EnvironmentFile syntax: " + line);
    }
}
