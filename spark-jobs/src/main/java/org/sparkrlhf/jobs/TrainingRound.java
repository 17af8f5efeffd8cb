package org.sparkrlhf.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.checkpoint.CheckpointStore;
import org.sparkrlhf.config.JobConfig;
import org.sparkrlhf.data.DataException;
import org.sparkrlhf.data.DataFile;
import org.sparkrlhf.data.RecordFiles;

/**
 * What one invocation of a training job trains: which data files, from which optimizer step to
 * which. A plain run trains the files at {@code data.train} for {@code train.steps}. A recurring
 * run ({@code run.recurring}) trains in rounds of {@code train.steps} more steps, each over every
 * file present when the round began: an interrupted round is finished on its own files (so it ends
 * exactly as an uninterrupted one would), and a new round starts only when files arrived or changed
 * since the last one. A scheduler may call the job as often as it likes: each call finishes a
 * round, starts one on new data, or ends at once. A round carries the checkpoint it continues
 * from ({@code resumeFrom}), verified once when the run directory was claimed.
 */
public record TrainingRound(int index, long startStep, long endStep, List<DataFile> files, String reason,
                            Optional<CheckpointStore.Checkpoint> resumeFrom) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Nothing arrived since the last round ended. */
    public boolean nothingToDo() {
        return endStep <= startStep;
    }

    public List<String> paths() {
        return files.stream().map(DataFile::path).toList();
    }

    /**
     * The round for this invocation of the job {@code cfg} describes, given the checkpoint the run
     * directory holds for it ({@link org.sparkrlhf.rundir.RunDirectory#resumeFrom}; empty for a fresh run).
     */
    public static TrainingRound plan(JobConfig cfg, Configuration hadoop, Optional<CheckpointStore.Checkpoint> last) throws IOException {
        List<DataFile> now = RecordFiles.snapshot(hadoop, cfg.data().train(), "data.train");
        int steps = cfg.train().steps();
        if (!cfg.run().recurring()) return new TrainingRound(0, 0, steps, now, last.isEmpty() ? "a plain run" : "a resumed run", last);
        FileSystem fs = cfg.runFileSystem(hadoop);
        if (last.isEmpty()) return new TrainingRound(0, 0, steps, now, "the first round", last);
        long step = last.get().step();
        JsonNode r = last.get().read("state.json", (in, src) -> JSON.readTree(in)).path("round");
        if (r.isMissingNode()) // the run so far was a plain one: everything counts as new
            return new TrainingRound(1, step, step + steps, now, "a first recurring round after a plain run", last);
        int index = r.path("index").asInt();
        long start = r.path("startStep").asLong();
        List<DataFile> files = new ArrayList<>();
        for (JsonNode f : r.path("files")) files.add(new DataFile(f.path("path").asText(), f.path("length").asLong()));
        if (step < start + steps) {
            for (DataFile f : files) requireUnchanged(fs, f, index);
            return new TrainingRound(index, start, start + steps, files, "finishing an interrupted round", last);
        }
        Set<DataFile> seen = new HashSet<>(files);
        long fresh = now.stream().filter(f -> !seen.contains(f)).count();
        if (fresh == 0) return new TrainingRound(index, step, step, files, "no data files arrived or changed since round " + index, last);
        return new TrainingRound(index + 1, step, step + steps, now, fresh + " data file(s) arrived or changed since round " + index, last);
    }

    private static void requireUnchanged(FileSystem fs, DataFile f, int round) throws IOException {
        Path p = new Path(f.path());
        FileSystem files = p.getFileSystem(fs.getConf());
        FileStatus s = files.exists(p) ? files.getFileStatus(p) : null;
        if (s == null || s.getLen() != f.length())
            throw new DataException("round " + round + " was interrupted and must finish on the data it began with, but " + f.path()
                    + (s == null ? " is gone" : " changed length (" + f.length() + " -> " + s.getLen() + " bytes)")
                    + ": restore the file, or start a new run directory");
    }

    /** The round as the checkpoint's state.json records it. */
    ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("index", index);
        o.put("startStep", startStep);
        var fs = o.putArray("files");
        for (DataFile f : files) fs.addObject().put("path", f.path()).put("length", f.length());
        return o;
    }
}
