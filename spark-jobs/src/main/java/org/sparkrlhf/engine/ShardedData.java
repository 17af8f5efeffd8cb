package org.sparkrlhf.engine;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * A training set spread over P cached partitions, example i in partition i mod P. A global batch of
 * B takes B/P examples from every partition, so the shards of a step are equal in size.
 */
public final class ShardedData<E> {
    final JavaRDD<ExampleBlock<E>> blocks;
    final int partitions, minBlockSize;

    private ShardedData(JavaRDD<ExampleBlock<E>> blocks, int partitions, int minBlockSize) {
        this.blocks = blocks;
        this.partitions = partitions;
        this.minBlockSize = minBlockSize;
    }

    public static <E> ShardedData<E> of(JavaRDD<E> examples, int partitions) {
        if (partitions < 1) throw new IllegalArgumentException("partitions must be >= 1, got " + partitions);
        JavaRDD<ExampleBlock<E>> blocks = examples.zipWithIndex()
                .mapToPair(t -> new Tuple2<>((int) (t._2() % partitions), new Tuple2<>(t._2(), t._1())))
                .partitionBy(new HashPartitioner(partitions))
                .mapPartitionsWithIndex((idx, it) -> {
                    List<Tuple2<Long, E>> rows = new ArrayList<>();
                    it.forEachRemaining(kv -> rows.add(kv._2()));
                    rows.sort((a, b) -> Long.compare(a._1(), b._1()));
                    List<E> ex = new ArrayList<>(rows.size());
                    for (Tuple2<Long, E> r : rows) ex.add(r._2());
                    return Collections.singletonList(new ExampleBlock<>(idx, ex)).iterator();
                }, true)
                .persist(StorageLevel.MEMORY_AND_DISK());
        int min = blocks.map(b -> b.examples.size()).collect().stream().mapToInt(Integer::intValue).min().orElse(0);
        return new ShardedData<>(blocks, partitions, min);
    }

    public int partitions() {
        return partitions;
    }

    /** Steps in one pass for a global batch; the few examples beyond a whole number of steps wait for the next epoch's order. */
    public long stepsPerEpoch(int globalBatch) {
        return minBlockSize / (globalBatch / partitions);
    }

    public void release() {
        blocks.unpersist(false);
    }
}
