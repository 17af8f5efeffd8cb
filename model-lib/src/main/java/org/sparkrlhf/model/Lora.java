package org.sparkrlhf.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * LoRA (Hu et al., 2021) on a GPT's projections: the weight W stays frozen and the layer computes
 * x W + b + (alpha / rank) dropout(x) A B, with A [in, rank] and B [rank, out] the only trained
 * matrices (B starts at zero, so training starts from the base model exactly).
 *
 * @param rank    the adapters' inner width
 * @param alpha   the scale numerator: adapters add (alpha / rank) x A B
 * @param dropout dropout on the adapters' input while training, in [0, 1)
 * @param targets which projections get adapters: c_attn, attn.c_proj, c_fc, mlp.c_proj
 */
public record Lora(int rank, double alpha, double dropout, Set<String> targets) implements java.io.Serializable {
    /** The projections LoRA can adapt, in layout order, with the weight each one names. */
    public static final List<String> TARGETS = List.of("c_attn", "attn.c_proj", "c_fc", "mlp.c_proj");

    public Lora {
        List<String> e = new ArrayList<>();
        if (rank <= 0) e.add("lora.rank must be > 0, got " + rank);
        if (!(alpha > 0)) e.add("lora.alpha must be > 0, got " + alpha);
        if (!(dropout >= 0 && dropout < 1)) e.add("lora.dropout must be in [0, 1), got " + dropout);
        if (targets == null || targets.isEmpty()) e.add("lora.targets must name at least one of " + TARGETS);
        else for (String t : targets) if (!TARGETS.contains(t)) e.add("lora.targets: '" + t + "' is not one of " + TARGETS);
        if (!e.isEmpty()) throw new IllegalArgumentException("invalid LoRA settings: " + String.join("; ", e));
        targets = Set.copyOf(targets);
    }

    public double scale() {
        return alpha / rank;
    }

    /** The weight a target adapts within a block: c_attn -> attn.c_attn, c_fc -> mlp.c_fc. */
    public static String weightOf(String target) {
        return switch (target) {
            case "c_attn" -> "attn.c_attn";
            case "c_fc" -> "mlp.c_fc";
            default -> target;
        };
    }

    /** Input and output widths of a target's projection in a model of width d. */
    static int[] shape(String target, int d) {
        return switch (target) {
            case "c_attn" -> new int[] {d, 3 * d};
            case "attn.c_proj" -> new int[] {d, d};
            case "c_fc" -> new int[] {d, 4 * d};
            case "mlp.c_proj" -> new int[] {4 * d, d};
            default -> throw new IllegalArgumentException(target);
        };
    }
}
