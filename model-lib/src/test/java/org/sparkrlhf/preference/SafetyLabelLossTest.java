package org.sparkrlhf.preference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

class SafetyLabelLossTest {

    @Test
    void eachLabelledScoreIsAskedForItsSignAndUnlabelledOnesAddNothing() {
        Tensor scores = Tensor.of(DType.FLOAT64, 2.0, -1.0, 0.5, -0.3);
        Tensor d = Tensor.of(DType.FLOAT64, 0.0, 0.0, 10.0, 0.0); // the gradient is added to what is there
        SafetyLabelLoss.Result r = SafetyLabelLoss.compute(scores, new int[]{1, -1, 0, 1}, 2.0, d);
        // log(1 + e^-2) + log(1 + e^-1) + log(1 + e^0.3), by hand
        assertEquals(0.126928 + 0.313262 + 0.854355, r.lossSum(), 1e-6);
        assertEquals(3, r.labelled());
        assertEquals(2, r.correct(), "the safe answer scored -0.3 is on the wrong side of 0");
        assertEquals(-2 * 0.119203, d.get(0), 1e-6); // -w y sigmoid(-y s)
        assertEquals(2 * 0.268941, d.get(1), 1e-6);
        assertEquals(10.0, d.get(2), 0.0);
        assertEquals(-2 * 0.574443, d.get(3), 1e-6);
    }

    @Test
    void oneLabelPerScore() {
        assertThrows(IllegalArgumentException.class, () -> SafetyLabelLoss.compute(Tensor.of(DType.FLOAT64, 1.0), new int[]{1, 1}, 1, null));
    }
}
