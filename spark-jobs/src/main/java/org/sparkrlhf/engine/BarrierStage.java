package org.sparkrlhf.engine;

import java.io.Serializable;
import java.util.Iterator;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.sparkrlhf.config.ConfigException;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Spark's barrier execution mode from Java: all tasks of the stage start together (one per rank)
 * and can rendezvous through their {@link BarrierTaskContext}. Also the checks that such a stage
 * can run at all, made before one is submitted.
 */
public final class BarrierStage {
    private BarrierStage() {}

    /** A rank's body: its partition and its barrier context in, its results out. */
    @FunctionalInterface
    public interface Body<T, S> extends Serializable {
        Iterator<S> run(Iterator<T> partition, BarrierTaskContext context) throws Exception;
    }

    /** {@code rdd.barrier().mapPartitions(body)}: a stage whose tasks start together. */
    @SuppressWarnings("unchecked")
    public static <T, S> JavaRDD<S> mapPartitions(JavaRDD<T> rdd, Body<T, S> body) {
        ClassTag<S> tag = (ClassTag<S>) ClassTag$.MODULE$.apply(Object.class);
        return JavaRDD.fromRDD(rdd.rdd().barrier().mapPartitions(new Adapter<>(body), false, tag), tag);
    }

    private static final class Adapter<T, S> extends AbstractFunction1<scala.collection.Iterator<T>, scala.collection.Iterator<S>> implements Serializable {
        private final Body<T, S> body;

        Adapter(Body<T, S> body) {
            this.body = body;
        }

        @Override
        public scala.collection.Iterator<S> apply(scala.collection.Iterator<T> it) {
            try {
                return scala.collection.JavaConverters.asScalaIterator(body.run(scala.collection.JavaConverters.asJavaIterator(it), BarrierTaskContext.get()));
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * Checks that {@code ranks} tasks can run at once: dynamic allocation is off, and the cluster
     * offers enough task slots (waiting up to {@code waitMillis} for executors to register). The
     * error says which setting to change.
     */
    public static void requireSlots(SparkContext sc, int ranks, long waitMillis) {
        if (sc.getConf().getBoolean("spark.dynamicAllocation.enabled", false))
            throw new ConfigException("training runs as Spark barrier stages, which dynamic allocation cannot serve: set "
                    + "spark.dynamicAllocation.enabled=false and a fixed spark.executor.instances");
        long deadline = System.currentTimeMillis() + waitMillis;
        int slots = slots(sc);
        while (slots < ranks && System.currentTimeMillis() < deadline) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            slots = slots(sc);
        }
        if (slots < ranks)
            throw new ConfigException("training needs " + ranks + " tasks running at once (train.partitions = " + ranks + "), but the cluster offers "
                    + slots + " task slots (executors x cores / spark.task.cpus): add executors or cores (spark.executor.instances, "
                    + "spark.executor.cores), or lower train.partitions");
    }

    private static int slots(SparkContext sc) {
        return sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
    }
}
