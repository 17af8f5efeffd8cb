#!/usr/bin/env bash
# Submits one job of the application jar to YARN.
#   cluster-configs/yarn/submit.sh JOB CONFIG [JOB OPTIONS...]
#   JOB      pretrain | sft | reward | ppo
#   CONFIG   the job's YAML config on any Hadoop FileSystem (hdfs:///rlhf/configs/reward.yaml)
#   options  passed to the job, e.g. --set run.recurring=true (see the job's --help)
# Environment:
#   SPARK_HOME         Spark 3.5 client (else spark-submit on PATH); HADOOP_CONF_DIR the cluster's config
#   RLHF_APP_JAR       the application jar (default: spark-jobs/target/spark-jobs-*-app.jar of this checkout)
#   RLHF_PROPERTIES    Spark settings laid over the cluster's own spark-defaults.conf (default:
#                      spark-defaults.conf beside this script), passed as --conf pairs so that the
#                      cluster's defaults (event log, history server, archives) still apply
#   RLHF_PRINCIPAL, RLHF_KEYTAB   Kerberos identity for long runs (both or neither)
#   RLHF_QUEUE         YARN queue;  RLHF_SUBMIT_OPTS  more spark-submit options (word-split)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
job="$1" config="$2"; shift 2
case "$job" in
  pretrain) class=org.sparkrlhf.jobs.PretrainJob ;;
  sft) class=org.sparkrlhf.jobs.SftJob ;;
  reward) class=org.sparkrlhf.jobs.RewardJob ;;
  ppo) class=org.sparkrlhf.jobs.PpoJob ;;
  *) echo "submit.sh: unknown job '$job' (pretrain, sft, reward or ppo)" >&2; exit 2 ;;
esac

jar="${RLHF_APP_JAR:-}"
if [ -z "$jar" ]; then
  jar="$(ls "$here"/../../spark-jobs/target/spark-jobs-*-app.jar 2>/dev/null | head -n 1 || true)"
  [ -n "$jar" ] || { echo "submit.sh: no application jar: build it (mvn -DskipTests package) or set RLHF_APP_JAR" >&2; exit 2; }
fi
[ -f "$jar" ] || { echo "submit.sh: RLHF_APP_JAR=$jar does not exist" >&2; exit 2; }
props="${RLHF_PROPERTIES:-$here/spark-defaults.conf}"
[ -f "$props" ] || { echo "submit.sh: properties file $props does not exist (RLHF_PROPERTIES)" >&2; exit 2; }

args=(--class "$class" --name "rlhf-$job")
# "key value" or "key=value" lines; --properties-file would replace the cluster's spark-defaults.conf
while IFS= read -r line || [ -n "$line" ]; do
  line="${line#"${line%%[![:space:]]*}"}"
  case "$line" in ""|\#*|!*) continue ;; esac
  key="${line%%[[:space:]=]*}"
  value="${line#"$key"}"
  value="${value#"${value%%[![:space:]=]*}"}"
  value="${value%"${value##*[![:space:]]}"}"
  args+=(--conf "$key=$value")
done < "$props"
if [ -n "${RLHF_PRINCIPAL:-}" ] || [ -n "${RLHF_KEYTAB:-}" ]; then
  [ -n "${RLHF_PRINCIPAL:-}" ] && [ -n "${RLHF_KEYTAB:-}" ] || { echo "submit.sh: set both RLHF_PRINCIPAL and RLHF_KEYTAB, or neither" >&2; exit 2; }
  [ -r "$RLHF_KEYTAB" ] || { echo "submit.sh: keytab $RLHF_KEYTAB is not readable" >&2; exit 2; }
  args+=(--principal "$RLHF_PRINCIPAL" --keytab "$RLHF_KEYTAB")
fi
[ -n "${RLHF_QUEUE:-}" ] && args+=(--queue "$RLHF_QUEUE")
# shellcheck disable=SC2206
[ -n "${RLHF_SUBMIT_OPTS:-}" ] && args+=($RLHF_SUBMIT_OPTS)

submit=spark-submit
[ -n "${SPARK_HOME:-}" ] && submit="$SPARK_HOME/bin/spark-submit"
exec "$submit" "${args[@]}" "$jar" --config "$config" "$@"
