package org.sparkrlhf.jobs;

import java.io.IOException;
import java.util.function.Function;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.SparkSession;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.Parsed;
import org.sparkrlhf.data.Quarantine;
import org.sparkrlhf.data.RecordFiles;
import org.sparkrlhf.data.SourceLine;

/**
 * The records a job trains on and the ones it evaluates on: {@code data.eval} when it is named, else
 * a stable {@code data.evalFraction} share of {@code data.train}; each set quarantined on its own
 * (train.jsonl, eval.jsonl). The reward and DPO jobs split their comparisons this way.
 */
record HeldOutSplit<T>(Quarantine.Result<T> train, Quarantine.Result<T> eval) {

    static <T> HeldOutSplit<T> of(SparkSession spark, JobConfig cfg, TrainingRound round, FileSystem fs, Path runDir,
                                  Function<JavaRDD<SourceLine>, JavaRDD<Parsed<T>>> parse) throws IOException {
        JavaRDD<Parsed<T>> parsed = parse.apply(RecordFiles.read(spark, round.paths(), cfg.data().train(), cfg.data().format()));
        JavaRDD<Parsed<T>> trainPart = parsed, evalPart;
        if (cfg.data().eval().isEmpty()) {
            int perMille = (int) Math.round(cfg.data().evalFraction() * 1000);
            trainPart = parsed.filter(p -> !heldOut(p, perMille));
            evalPart = parsed.filter(p -> heldOut(p, perMille));
        } else {
            evalPart = parse.apply(RecordFiles.read(spark, cfg.data().eval(), cfg.data().format(), "data.eval"));
        }
        return new HeldOutSplit<>(Quarantine.apply(trainPart, fs, runDir, "train", cfg.data().maxBadFraction()),
                Quarantine.apply(evalPart, fs, runDir, "eval", cfg.data().maxBadFraction()));
    }

    /** A stable split by file name and line: the same record is held out on every run, wherever the data lives. */
    static boolean heldOut(Parsed<?> p, int perMille) {
        String name = p.file().substring(p.file().lastIndexOf('/') + 1);
        long h = (name.hashCode() * 0x9E3779B97F4A7C15L) ^ (p.line() * 0xC2B2AE3D27D4EB4FL);
        h ^= h >>> 31;
        return Math.floorMod(h, 1000) < perMille;
    }
}
