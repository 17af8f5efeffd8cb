package org.sparkrlhf.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where each named tensor lives in a model's flat parameter buffer. Names follow Hugging Face's
 * GPT-2 (wte.weight, h.0.attn.c_attn.weight, ...), so weights map one-to-one onto GPT-2 files.
 * Linear weights are stored [in, out] as GPT-2's Conv1D stores them.
 */
public final class ParameterLayout {

    /** One tensor's place: offset into the flat buffer, shape, and whether AdamW decays it. */
    public record Entry(String name, int offset, int[] shape, boolean decay) {
        public int size() {
            int n = 1;
            for (int s : shape) n *= s;
            return n;
        }
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private int size;

    public static ParameterLayout of(GptConfig c) {
        ParameterLayout p = new ParameterLayout();
        int d = c.dModel();
        p.add("wte.weight", true, c.vocabSize(), d);
        p.add("wpe.weight", true, c.contextLength(), d);
        for (int l = 0; l < c.nLayers(); l++) {
            String h = "h." + l + ".";
            p.add(h + "ln_1.weight", false, d);
            p.add(h + "ln_1.bias", false, d);
            p.add(h + "attn.c_attn.weight", true, d, 3 * d);
            p.add(h + "attn.c_attn.bias", false, 3 * d);
            p.add(h + "attn.c_proj.weight", true, d, d);
            p.add(h + "attn.c_proj.bias", false, d);
            p.add(h + "ln_2.weight", false, d);
            p.add(h + "ln_2.bias", false, d);
            p.add(h + "mlp.c_fc.weight", true, d, 4 * d);
            p.add(h + "mlp.c_fc.bias", false, 4 * d);
            p.add(h + "mlp.c_proj.weight", true, 4 * d, d);
            p.add(h + "mlp.c_proj.bias", false, d);
        }
        p.add("ln_f.weight", false, d);
        p.add("ln_f.bias", false, d);
        if (c.has(Head.LM) && !c.tiedLmHead()) p.add("lm_head.weight", true, c.vocabSize(), d);
        if (c.has(Head.VALUE)) {
            p.add("v_head.weight", true, 1, d);
            p.add("v_head.bias", false, 1);
        }
        if (c.has(Head.REWARD)) {
            p.add("score.weight", true, 1, d);
            p.add("score.bias", false, 1);
        }
        if (c.lora() != null) // after everything else: the base model's layout is a prefix of this one
            for (int l = 0; l < c.nLayers(); l++)
                for (String target : Lora.TARGETS) {
                    if (!c.adapts(target)) continue;
                    int[] io = Lora.shape(target, d);
                    String w = "h." + l + "." + Lora.weightOf(target);
                    p.add(w + ".lora_A", false, io[0], c.lora().rank());
                    p.add(w + ".lora_B", false, c.lora().rank(), io[1]);
                }
        return p;
    }

    /**
     * What LoRA training updates: the value and reward heads and the adapters, a suffix of the full
     * layout (so their values and gradients are one contiguous run of the flat buffers).
     */
    public static ParameterLayout trainable(GptConfig c) {
        ParameterLayout all = of(c), t = new ParameterLayout();
        boolean in = false;
        for (Entry e : all.entries.values()) {
            in |= e.name().startsWith("v_head.") || e.name().startsWith("score.") || e.name().contains(".lora_");
            if (in) t.add(e.name(), e.decay(), e.shape());
        }
        return t;
    }

    private void add(String name, boolean decay, int... shape) {
        Entry e = new Entry(name, size, shape, decay);
        entries.put(name, e);
        size += e.size();
    }

    public int size() {
        return size;
    }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException("no parameter named '" + name + "'; known: " + entries.keySet());
        return e;
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public Map<String, Entry> entries() {
        return Collections.unmodifiableMap(entries);
    }
}
