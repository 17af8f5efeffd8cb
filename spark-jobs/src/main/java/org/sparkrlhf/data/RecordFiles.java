package org.sparkrlhf.data;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Reads record files, JSON lines or Parquet (a file, or every file under a directory outside hidden names: an annotation app's state, Spark's markers), from any Hadoop
 * FileSystem as {@link SourceLine}s that remember file and line number. Files are read in name
 * order, so the records' order (and everything seeded from it) is reproducible.
 */
public final class RecordFiles {
    private RecordFiles() {}

    /**
     * Records from JSON lines or Parquet. A Parquet row becomes its JSON text, so one parser serves
     * both; its "line" is the row number within its file, in file order.
     */
    public static JavaRDD<SourceLine> read(org.apache.spark.sql.SparkSession spark, String location, String format, String key) {
        List<String> files = snapshot(spark.sparkContext().hadoopConfiguration(), location, key).stream().map(DataFile::path).toList();
        return read(spark, files, location, format);
    }

    /** As above, from the given files (as {@link #snapshot} listed them); {@code location} names them in errors. */
    public static JavaRDD<SourceLine> read(org.apache.spark.sql.SparkSession spark, List<String> files, String location, String format) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        if (format.equals("jsonl")) return readLines(jsc, files);
        if (!format.equals("parquet")) throw new DataException("unknown data.format '" + format + "': use jsonl or parquet");
        List<JavaRDD<SourceLine>> parts = new ArrayList<>();
        for (String f : files) {
            if (!f.endsWith(".parquet")) continue;
            parts.add(spark.read().parquet(f).toJSON().javaRDD().zipWithIndex().map(t -> new SourceLine(f, t._2() + 1, t._1())));
        }
        if (parts.isEmpty()) throw new DataException("no .parquet files under " + location + " (data.format is parquet)");
        return parts.size() == 1 ? parts.get(0) : jsc.union(parts.toArray(JavaRDD[]::new));
    }

    private static JavaRDD<SourceLine> readLines(JavaSparkContext jsc, List<String> files) {
        List<JavaRDD<SourceLine>> parts = new ArrayList<>();
        for (String f : files) {
            parts.add(jsc.textFile(f).zipWithIndex()
                    .filter(t -> !t._1().isBlank())
                    .map(t -> new SourceLine(f, t._2() + 1, t._1())));
        }
        return parts.size() == 1 ? parts.get(0) : jsc.union(parts.toArray(JavaRDD[]::new));
    }

    /** Whether {@code file}, or a directory between {@code root} and it, is hidden ('.' or '_' first, as Hadoop and Spark treat them). */
    private static boolean hidden(Path root, Path file) {
        for (Path p = file; p != null && !p.equals(root); p = p.getParent()) {
            if (p.getName().startsWith(".") || p.getName().startsWith("_")) return true;
        }
        return false;
    }

    /** The data files at {@code location} (the value of config key {@code key}) now, in name order, with their lengths. */
    public static List<DataFile> snapshot(org.apache.hadoop.conf.Configuration conf, String location, String key) {
        try {
            Path p = new Path(location);
            FileSystem fs = p.getFileSystem(conf);
            if (!fs.exists(p)) throw new DataException("data not found: " + location + " (check " + key + ", and that the path is on the file system it names)");
            List<DataFile> out = new ArrayList<>();
            FileStatus st = fs.getFileStatus(p);
            if (st.isFile()) {
                out.add(new DataFile(st.getPath().toString(), st.getLen()));
            } else {
                RemoteIterator<LocatedFileStatus> it = fs.listFiles(p, true);
                while (it.hasNext()) {
                    LocatedFileStatus f = it.next();
                    if (!hidden(st.getPath(), f.getPath()) && f.getLen() > 0) out.add(new DataFile(f.getPath().toString(), f.getLen()));
                }
            }
            if (out.isEmpty()) throw new DataException("no data files under " + location + " (" + key + "; hidden and empty files are skipped)");
            out.sort(java.util.Comparator.comparing(DataFile::path));
            return out;
        } catch (IOException e) {
            throw new DataException("cannot list " + location + " (" + key + "): " + e.getMessage());
        }
    }
}
