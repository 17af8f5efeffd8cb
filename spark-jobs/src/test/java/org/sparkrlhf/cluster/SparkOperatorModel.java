package org.sparkrlhf.cluster;

import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.util.List;
import java.util.Map;

/**
 * The Kubeflow Spark operator's {@code sparkoperator.k8s.io/v1beta2} resources, as far as our
 * manifests use them: field names and enums as the operator's API defines them, Kubernetes types
 * from fabric8. Read strictly (an unknown field is an error), so a misspelt field fails a test
 * instead of being dropped by the API server's pruning.
 */
final class SparkOperatorModel {
    private SparkOperatorModel() {}

    enum Type { Java, Scala, Python, R }

    enum Mode { cluster, client }

    enum RestartType { Never, Always, OnFailure }

    enum ConcurrencyPolicy { Allow, Forbid, Replace }

    record SparkApplication(String apiVersion, String kind, ObjectMeta metadata, Spec spec) {}

    record ScheduledSparkApplication(String apiVersion, String kind, ObjectMeta metadata, ScheduleSpec spec) {}

    record ScheduleSpec(String schedule, Spec template, Boolean suspend, ConcurrencyPolicy concurrencyPolicy,
                        Integer successfulRunHistoryLimit, Integer failedRunHistoryLimit) {}

    record Spec(Type type, String sparkVersion, Mode mode, String image, String imagePullPolicy, List<String> imagePullSecrets,
                String mainClass, String mainApplicationFile, List<String> arguments, Map<String, String> sparkConf,
                Map<String, String> hadoopConf, String sparkConfigMap, String hadoopConfigMap, List<Volume> volumes,
                PodSpec driver, PodSpec executor, RestartPolicy restartPolicy, Map<String, String> nodeSelector,
                Long timeToLiveSeconds) {}

    /** Driver and executor specs share these (the executor adds instances; the driver ignores it). */
    record PodSpec(PodTemplateSpec template, Integer cores, String coreLimit, String coreRequest, String memory, String memoryOverhead,
                   Gpu gpu, String image, List<EnvVar> env, Map<String, String> labels, Map<String, String> annotations,
                   List<VolumeMount> volumeMounts, List<Toleration> tolerations, Map<String, String> nodeSelector,
                   String serviceAccount, String javaOptions, Integer instances, Boolean deleteOnTermination) {}

    record Gpu(String name, Long quantity) {}

    record RestartPolicy(RestartType type, Integer onSubmissionFailureRetries, Integer onFailureRetries,
                         Long onSubmissionFailureRetryInterval, Long onFailureRetryInterval) {}
}
