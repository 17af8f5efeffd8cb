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
 * Reads record files, JSON lines or Parquet (a file, or every non-hidden file under a directory), from any Hadoop
 * FileSystem as {@link SourceLine}s that remember file and line number. Files are read in name
 * order, so the records' order (and everything seeded from it) is reproducible.
 */
public final class RecordFiles {
    private RecordFiles() {}

    /**
     * Records from JSON lines or Parquet. A Parquet row becomes its JSON text, so one parser serves
     * both; its "line" is the row number within its file, in file order.
     */
    public static JavaRDD<SourceLine> read(org.apache.spark.sql.SparkSession spark, String location, String format) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        if (format.equals("jsonl")) return read(jsc, location);
        if (!format.equals("parquet")) throw new DataException("unknown data.format '" + format + "': use jsonl or parquet");
        List<JavaRDD<SourceLine>> parts = new ArrayList<>();
        for (String f : list(jsc, location)) {
            if (!f.endsWith(".parquet")) continue;
            parts.add(spark.read().parquet(f).toJSON().javaRDD().zipWithIndex().map(t -> new SourceLine(f, t._2() + 1, t._1())));
        }
        if (parts.isEmpty()) throw new DataException("no .parquet files under " + location + " (data.format is parquet)");
        return parts.size() == 1 ? parts.get(0) : jsc.union(parts.toArray(JavaRDD[]::new));
    }

    public static JavaRDD<SourceLine> read(JavaSparkContext jsc, String location) {
        List<String> files = list(jsc, location);
        List<JavaRDD<SourceLine>> parts = new ArrayList<>();
        for (String f : files) {
            parts.add(jsc.textFile(f).zipWithIndex()
                    .filter(t -> !t._1().isBlank())
                    .map(t -> new SourceLine(f, t._2() + 1, t._1())));
        }
        return parts.size() == 1 ? parts.get(0) : jsc.union(parts.toArray(JavaRDD[]::new));
    }

    static List<String> list(JavaSparkContext jsc, String location) {
        try {
            Path p = new Path(location);
            FileSystem fs = p.getFileSystem(jsc.hadoopConfiguration());
            if (!fs.exists(p)) throw new DataException("data not found: " + location + " (check data.train, and that the path is on the file system it names)");
            List<String> out = new ArrayList<>();
            FileStatus st = fs.getFileStatus(p);
            if (st.isFile()) {
                out.add(st.getPath().toString());
            } else {
                RemoteIterator<LocatedFileStatus> it = fs.listFiles(p, true);
                while (it.hasNext()) {
                    LocatedFileStatus f = it.next();
                    String name = f.getPath().getName();
                    if (!name.startsWith(".") && !name.startsWith("_") && f.getLen() > 0) out.add(f.getPath().toString());
                }
            }
            if (out.isEmpty()) throw new DataException("no data files under " + location);
            out.sort(String::compareTo);
            return out;
        } catch (IOException e) {
            throw new DataException("cannot list " + location + ": " + e.getMessage());
        }
    }
}
