package org.sparkrlhf.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.checkpoint.OptimizerStateIO;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.ParameterLayout;
import org.sparkrlhf.model.Parameters;
import org.sparkrlhf.tensor.DType;

class AdamWTest {
    static final ParameterLayout LAYOUT = ParameterLayout.of(GptConfig.of(5, 4, 4, 2, 1));

    /** The float32 path decays exactly the matrices, element for element, across its 4096-element chunks. */
    @Test
    void float32DecaysMatricesOnlyAcrossChunkBoundaries() {
        org.sparkrlhf.model.GptConfig c = org.sparkrlhf.model.GptConfig.of(97, 16, 48, 4, 2);
        org.sparkrlhf.model.ParameterLayout layout = org.sparkrlhf.model.ParameterLayout.of(c);
        Parameters p = Parameters.zeros(layout, DType.FLOAT32), g = Parameters.zeros(layout, DType.FLOAT32);
        p.flat().fill(1.0); // zero gradient: only the decay moves a parameter
        new AdamW(new AdamW.Config(LrSchedule.constant(0.5), 0.9, 0.999, 1e-8, 0.1, 1e9), layout, DType.FLOAT32).step(p, g);
        for (org.sparkrlhf.model.ParameterLayout.Entry e : layout.entries().values()) {
            boolean decays = e.decay() && e.shape().length >= 2;
            for (int i = 0; i < e.size(); i++)
                assertEquals(decays ? 1.0f - 0.05f : 1.0f, (float) p.get(e.name()).get(i), 0f, e.name() + "[" + i + "]");
        }
    }

    @Test
    void firstStepMatchesHandComputedValues() {
        // With bias correction the first Adam step is lr * g / (|g| + eps) = lr * sign(g); decay applies to matrices only.
        Parameters p = Parameters.zeros(LAYOUT, DType.FLOAT64), g = Parameters.zeros(LAYOUT, DType.FLOAT64);
        p.get("wte.weight").fill(2.0);
        p.get("ln_f.bias").fill(2.0);
        g.get("wte.weight").fill(0.5);
        g.get("ln_f.bias").fill(-0.25);
        AdamW opt = new AdamW(new AdamW.Config(LrSchedule.constant(0.1), 0.9, 0.999, 1e-8, 0.01, 1e9), LAYOUT, DType.FLOAT64);
        AdamW.StepInfo info = opt.step(p, g);
        assertEquals(2.0 - 0.1 * 0.5 / (0.5 + 1e-8) - 0.1 * 0.01 * 2.0, p.get("wte.weight").get(0), 1e-12);
        assertEquals(2.0 + 0.1 * 0.25 / (0.25 + 1e-8), p.get("ln_f.bias").get(0), 1e-12);
        assertEquals(1, info.step());
        assertTrue(!info.clipped());
    }

    @Test
    void globalNormClippingScalesTheGradient() {
        Parameters p = Parameters.zeros(LAYOUT, DType.FLOAT64), g = Parameters.zeros(LAYOUT, DType.FLOAT64);
        g.get("ln_f.bias").set(0, 3.0);
        g.get("ln_f.bias").set(1, 4.0); // norm 5
        // plain SGD-like view: beta1 = 0, beta2 ~ 0 gives p -= lr * g_clipped / |g_clipped|; look at the moment instead
        AdamW opt = new AdamW(new AdamW.Config(LrSchedule.constant(0.1), 0.5, 0.5, 1e-8, 0, 1.0), LAYOUT, DType.FLOAT64);
        AdamW.StepInfo info = opt.step(p, g);
        assertEquals(5.0, info.gradNorm(), 1e-12);
        assertTrue(info.clipped());
        int off = LAYOUT.entry("ln_f.bias").offset();
        assertEquals(0.5 * 3.0 / 5.0, opt.firstMoment().get(off), 1e-6); // m = (1 - b1) * g * (1/5)
    }

    @Test
    void nonFiniteGradientIsRefusedBeforeTouchingState() {
        Parameters p = Parameters.zeros(LAYOUT, DType.FLOAT32), g = Parameters.zeros(LAYOUT, DType.FLOAT32);
        g.flat().set(3, Double.NaN);
        AdamW opt = new AdamW(AdamW.Config.defaults(LrSchedule.constant(0.1)), LAYOUT, DType.FLOAT32);
        assertThrows(IllegalArgumentException.class, () -> opt.step(p, g));
        assertEquals(0, opt.stepCount());
        assertEquals(0.0, p.flat().sumOfSquares());
    }

    @Test
    void schedulesWarmUpThenDecay() {
        LrSchedule cos = new LrSchedule(LrSchedule.Kind.COSINE, 1.0, 0.1, 10, 110);
        assertEquals(0.1, cos.at(0), 1e-12);
        assertEquals(1.0, cos.at(9), 1e-12);
        assertEquals(1.0, cos.at(10), 1e-12);
        assertEquals(0.55, cos.at(60), 1e-12);
        assertEquals(0.1, cos.at(500), 1e-12);
        LrSchedule lin = new LrSchedule(LrSchedule.Kind.LINEAR, 1.0, 0.0, 0, 100);
        assertEquals(0.75, lin.at(25), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(LrSchedule.Kind.LINEAR, 1.0, 0.0, 10, 10));

        // a second round of 110 steps from optimizer step 200: the same shape, shifted
        LrSchedule round = new LrSchedule(LrSchedule.Kind.COSINE, 1.0, 0.1, 10, 110, 200);
        assertEquals(0.1, round.at(200), 1e-12);
        assertEquals(1.0, round.at(210), 1e-12);
        assertEquals(0.55, round.at(260), 1e-12);
        assertEquals(0.1, round.at(310), 1e-12);
        assertEquals(0.1, round.at(150), 1e-12, "before the round: its first rate");
    }

    @Test
    void stateRoundTripsSoThatResumedStepsAreIdentical() throws IOException {
        Parameters p1 = Parameters.init(GptConfig.of(5, 4, 4, 2, 1), DType.FLOAT32, 1), g = Parameters.init(GptConfig.of(5, 4, 4, 2, 1), DType.FLOAT32, 2);
        Parameters p2 = p1.copy();
        AdamW a = new AdamW(AdamW.Config.defaults(LrSchedule.constant(0.01)), LAYOUT, DType.FLOAT32);
        a.step(p1, g);
        a.step(p1, g);
        ByteArrayOutputStream saved = new ByteArrayOutputStream();
        OptimizerStateIO.write(saved, a);
        Parameters mid = p1.copy();
        a.step(p1, g);
        AdamW b = new AdamW(AdamW.Config.defaults(LrSchedule.constant(0.01)), LAYOUT, DType.FLOAT32);
        OptimizerStateIO.read(new ByteArrayInputStream(saved.toByteArray()), "state", b);
        b.step(mid, g);
        for (int i = 0; i < p1.flat().size(); i++) assertEquals(p1.flat().get(i), mid.flat().get(i), 0.0);
        assertEquals(3, b.stepCount());
        assertTrue(p2.flat().size() > 0);
    }
}
