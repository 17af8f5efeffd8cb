package org.sparkrlhf.model;

import java.util.SplittableRandom;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

/**
 * A model's parameters (or gradients) as one flat tensor with named views: one buffer to send
 * between JVMs, to hand to the optimizer, or to checksum; views to read a layer's weights.
 */
public final class Parameters {
    private final ParameterLayout layout;
    private final Tensor flat;

    public Parameters(ParameterLayout layout, Tensor flat) {
        if (flat.size() != layout.size())
            throw new IllegalArgumentException("flat buffer has " + flat.size() + " elements, layout needs " + layout.size());
        this.layout = layout;
        this.flat = flat;
    }

    public static Parameters zeros(ParameterLayout layout, DType dtype) {
        return new Parameters(layout, Tensor.zeros(dtype, layout.size()));
    }

    /**
     * GPT-2 initialisation: weights ~ N(0, std), residual projections scaled by 1/sqrt(2 nLayers),
     * biases 0, LayerNorm gains 1. Deterministic in {@code seed}.
     */
    public static Parameters init(GptConfig c, DType dtype, long seed) {
        Parameters p = zeros(ParameterLayout.of(c), dtype);
        SplittableRandom rng = new SplittableRandom(seed);
        double residualStd = c.initStd() / Math.sqrt(2.0 * c.nLayers());
        for (ParameterLayout.Entry e : p.layout.entries().values()) {
            Tensor t = p.get(e.name());
            if (e.name().endsWith(".lora_A")) { // Kaiming-uniform over the input width, as LoRA does; lora_B stays 0
                double bound = 1.0 / Math.sqrt(e.shape()[0]);
                for (int i = 0; i < t.size(); i++) t.set(i, bound * (2 * rng.nextDouble() - 1));
            } else if (e.name().contains("ln_") && e.name().endsWith(".weight")) {
                t.fill(1.0);
            } else if (e.name().endsWith(".weight")) {
                double std = e.name().endsWith("c_proj.weight") ? residualStd : c.initStd();
                for (int i = 0; i < t.size(); i++) t.set(i, std * gaussian(rng));
            }
        }
        return p;
    }

    private static double gaussian(SplittableRandom rng) {
        // Box-Muller: SplittableRandom has no nextGaussian on Java 17
        double u1 = 1.0 - rng.nextDouble(), u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    public Tensor get(String name) {
        ParameterLayout.Entry e = layout.entry(name);
        return flat.slice(e.offset(), e.size());
    }

    public ParameterLayout layout() {
        return layout;
    }

    public Tensor flat() {
        return flat;
    }

    public DType dtype() {
        return flat.dtype();
    }

    /**
     * Copies every tensor that {@code other} has under the same name and size; returns how many.
     * A critic starts this way from the policy or the reward model (same trunk, its own head).
     */
    public int copySharedFrom(Parameters other) {
        int n = 0;
        for (ParameterLayout.Entry e : layout.entries().values()) {
            if (!other.layout.contains(e.name()) || other.layout.entry(e.name()).size() != e.size()) continue;
            get(e.name()).copyFrom(other.get(e.name()));
            n++;
        }
        return n;
    }

    public Parameters copy() {
        return new Parameters(layout, flat.copy());
    }

    public Parameters toDType(DType dtype) {
        return new Parameters(layout, flat.toDType(dtype));
    }
}
