package org.sparkrlhf.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.engine.LocalSpark;
import org.sparkrlhf.engine.LocalSparkTest;

class StageBarTest extends LocalSparkTest {
    @Test
    void countsTheTasksOfEveryJobRunWhileOpen() {
        StageBar bar = StageBar.tasks(spark.sparkContext());
        try (bar) {
            var rdd = LocalSpark.jsc(spark).parallelize(List.of(1, 2, 3, 4, 5, 6, 7), 6);
            rdd.count();
            rdd.map(x -> x * 2).coalesce(3).collect();
        }
        assertEquals(9, bar.total(), "6 tasks of the first job, 3 of the second (coalesced in one stage)");
        assertEquals(9, bar.done());
        LocalSpark.jsc(spark).parallelize(List.of(1, 2), 2).count();
        assertEquals(9, bar.total(), "a closed bar no longer counts");
    }

    @Test
    void stepsCountWhatTheStageReports() {
        StageBar bar = StageBar.steps(3);
        try (bar) {
            bar.step("a");
            bar.step("b");
        }
        assertEquals(2, bar.done());
        assertEquals(3, bar.total());
    }
}
