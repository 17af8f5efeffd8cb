package org.sparkrlhf.jobs;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkrlhf.checkpoint.ModelDirectory;

/** A model directory on any Hadoop FileSystem (local files, HDFS, ...). */
final class HadoopModelDirectory implements ModelDirectory {
    private final FileSystem fs;
    private final Path dir;

    HadoopModelDirectory(Configuration hadoop, String dir) throws IOException {
        this.dir = new Path(dir);
        FileSystem f = this.dir.getFileSystem(hadoop);
        this.fs = f instanceof LocalFileSystem local ? local.getRaw() : f; // no .crc files beside the model: other tools read this directory
    }

    @Override
    public boolean exists(String name) throws IOException {
        return fs.isFile(new Path(dir, name));
    }

    @Override
    public InputStream open(String name) throws IOException {
        return fs.open(new Path(dir, name));
    }

    @Override
    public OutputStream create(String name) throws IOException {
        return fs.create(new Path(dir, name), true);
    }

    @Override
    public String where(String name) {
        return new Path(dir, name).toString();
    }
}
