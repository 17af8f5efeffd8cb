package org.sparkrlhf.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.model.Lora;
import org.sparkrlhf.tensor.Tensor;

/**
 * A LoRA policy's adapters as a PEFT adapter directory ({@code adapter_config.json},
 * {@code adapter_model.safetensors}) for {@code PeftModel.from_pretrained(base, DIR)} on a Hugging
 * Face GPT-2: PEFT wraps GPT-2's Conv1D projections with {@code fan_in_fan_out}, its lora_A a
 * Linear(in, r) (weight [r, in]) and lora_B a Linear(r, out) (weight [out, r]), so our A [in, r] and
 * B [r, out] go out transposed under {@code base_model.model.transformer.h.L.<module>.lora_A.weight}.
 */
public final class PeftAdapters {
    private PeftAdapters() {}

    public static final String CONFIG = "adapter_config.json", WEIGHTS = "adapter_model.safetensors";

    public static void write(ModelDirectory dir, Gpt model, String dtype, String baseModel) throws IOException {
        GptConfig c = model.config();
        Lora lora = c.lora();
        if (lora == null) throw new IllegalArgumentException("the model has no LoRA adapters to write");
        if (!c.heads().equals(java.util.Set.of(Head.LM)))
            throw new IllegalArgumentException("a PEFT adapter directory is written for language-model policies; export a reward model or critic merged");
        List<SafeTensors.Entry> entries = new ArrayList<>();
        int d = c.dModel(), r = lora.rank();
        for (int l = 0; l < c.nLayers(); l++)
            for (String target : Lora.TARGETS) {
                if (!c.adapts(target)) continue;
                String w = "h." + l + "." + Lora.weightOf(target), key = "base_model.model.transformer." + w;
                Tensor a = model.parameters().get(w + ".lora_A"), b = model.parameters().get(w + ".lora_B");
                int in = a.size() / r, outW = b.size() / r;
                entries.add(new SafeTensors.Entry(key + ".lora_A.weight", new long[] {r, in}, transpose(a, in, r)));
                entries.add(new SafeTensors.Entry(key + ".lora_B.weight", new long[] {outW, r}, transpose(b, r, outW)));
            }
        try (OutputStream o = dir.create(WEIGHTS)) {
            SafeTensors.write(o, entries, Map.of("format", "pt"), dtype);
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode cfg = json.createObjectNode();
        cfg.put("peft_type", "LORA");
        cfg.put("task_type", "CAUSAL_LM");
        cfg.put("r", r);
        cfg.put("lora_alpha", lora.alpha());
        cfg.put("lora_dropout", lora.dropout());
        var targets = cfg.putArray("target_modules");
        for (String t : Lora.TARGETS) if (c.adapts(t)) targets.add(t);
        cfg.put("fan_in_fan_out", true); // GPT-2's Conv1D stores weights [in, out]
        cfg.put("bias", "none");
        cfg.put("use_rslora", false);
        cfg.put("inference_mode", true);
        if (baseModel == null) cfg.putNull("base_model_name_or_path");
        else cfg.put("base_model_name_or_path", baseModel);
        try (OutputStream o = dir.create(CONFIG)) {
            o.write(json.writerWithDefaultPrettyPrinter().writeValueAsBytes(cfg));
        }
    }

    /** A row-major [rows, cols] tensor as [cols, rows]. */
    private static float[] transpose(Tensor t, int rows, int cols) {
        float[] out = new float[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) out[j * rows + i] = (float) t.get(i * cols + j);
        return out;
    }
}
