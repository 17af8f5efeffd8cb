package org.sparkrlhf.engine;

import java.io.IOException;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/** A real one-datanode HDFS for tests (MiniDFSCluster), its storage under {@code base}; shut it down after the class. */
public final class MiniHdfs {
    private MiniHdfs() {}

    public static MiniDFSCluster start(Path base) throws IOException {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.resolve("minidfs-" + System.nanoTime()).toString());
        MiniDFSCluster hdfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        hdfs.waitActive();
        return hdfs;
    }

    /** Under the module's target/, where the other test scratch lives. */
    public static MiniDFSCluster start() throws IOException {
        return start(Path.of("target"));
    }
}
