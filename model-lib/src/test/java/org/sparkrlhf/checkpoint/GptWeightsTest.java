package org.sparkrlhf.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.sparkrlhf.model.Batch;
import org.sparkrlhf.model.Gpt;
import org.sparkrlhf.model.GptConfig;
import org.sparkrlhf.model.Head;
import org.sparkrlhf.tensor.DType;
import org.sparkrlhf.tensor.Tensor;

class GptWeightsTest {
    static final GptConfig CFG = GptConfig.of(50, 16, 24, 3, 2).withHeads(Head.LM, Head.VALUE).withTiedLmHead(false);

    static byte[] save(Gpt m) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        GptWeights.write(out, m.config(), m.parameters());
        return out.toByteArray();
    }

    @Test
    void writeThenReadGivesIdenticalLogits() throws IOException {
        Gpt m = Gpt.init(CFG, DType.FLOAT32, 3);
        GptWeights.Loaded back = GptWeights.read(new ByteArrayInputStream(save(m)), "mem", 0, DType.FLOAT32);
        assertEquals(CFG, back.config());
        Gpt m2 = new Gpt(back.config(), back.parameters());
        Batch b = Batch.dense(new int[]{1, 2, 3, 4, 5, 6, 7, 8}, 2, 4);
        Tensor l1 = m.forward(b).logits().copy(), l2 = m2.forward(b).logits();
        for (int i = 0; i < l1.size(); i++) assertEquals(l1.get(i), l2.get(i), 0.0);
    }

    @Test
    void readsAGpt2StyleFileWithPrefixAndBuffersInferringItsConfig() throws IOException {
        GptConfig tied = GptConfig.of(50, 16, 24, 3, 2);
        Gpt m = Gpt.init(tied, DType.FLOAT32, 4);
        List<SafeTensors.Entry> entries = new ArrayList<>();
        for (var e : m.parameters().layout().entries().values())
            entries.add(new SafeTensors.Entry("transformer." + e.name(), Arrays.stream(e.shape()).asLongStream().toArray(), m.parameters().get(e.name()).toFloatArray()));
        entries.add(new SafeTensors.Entry("transformer.h.0.attn.bias", new long[]{1, 1, 2, 2}, new float[4]));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SafeTensors.write(out, entries, Map.of("format", "pt"));
        GptWeights.Loaded back = GptWeights.read(new ByteArrayInputStream(out.toByteArray()), "gpt2.safetensors", 3, DType.FLOAT32);
        assertEquals(tied, back.config());
        assertEquals(m.parameters().get("h.1.mlp.c_fc.weight").get(5), back.parameters().get("h.1.mlp.c_fc.weight").get(5), 0.0);
    }

    @Test
    void halfAndBfloatAreConverted() throws IOException {
        // 1.5 in F16 is 0x3E00; -2.0 in BF16 is 0xC000
        byte[] f16 = file("{\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[2,4]}}",
                new byte[]{0x00, 0x3E, 0x00, (byte) 0xC0});
        var c = SafeTensors.read(new ByteArrayInputStream(f16), "x");
        assertEquals(1.5f, c.tensors().get("a").data()[0]);
        assertEquals(-2.0f, c.tensors().get("b").data()[0]);
    }

    @Test
    void truncatedFileNamesTheTensor() throws IOException {
        byte[] full = save(Gpt.init(CFG, DType.FLOAT32, 3));
        IOException e = assertThrows(IOException.class, () -> GptWeights.read(new ByteArrayInputStream(Arrays.copyOf(full, full.length - 100)), "model.safetensors", 0, DType.FLOAT32));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("v_head"), e.getMessage());
        IOException h = assertThrows(IOException.class, () -> SafeTensors.read(new ByteArrayInputStream(Arrays.copyOf(full, 20)), "model.safetensors"));
        assertTrue(h.getMessage().contains("truncated inside its header"), h.getMessage());
    }

    @Test
    void wrongDtypeIsRejectedByName() {
        byte[] f = file("{\"wte.weight\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]);
        IOException e = assertThrows(IOException.class, () -> SafeTensors.read(new ByteArrayInputStream(f), "m.safetensors"));
        assertTrue(e.getMessage().contains("'wte.weight' has dtype I64"), e.getMessage());
    }

    @Test
    void missingTensorAndShapeMismatchNameTensorAndExpectation() throws IOException {
        Gpt m = Gpt.init(CFG, DType.FLOAT32, 3);
        byte[] ok = save(m);
        GptConfig wider = GptConfig.of(50, 16, 24, 3, 3).withHeads(Head.LM, Head.VALUE).withTiedLmHead(false);
        IOException missing = assertThrows(IOException.class, () -> GptWeights.read(new ByteArrayInputStream(ok), "m", wider, DType.FLOAT32));
        assertTrue(missing.getMessage().contains("missing tensor 'h.2.ln_1.weight'"), missing.getMessage());
        GptConfig longer = GptConfig.of(50, 32, 24, 3, 2).withHeads(Head.LM, Head.VALUE).withTiedLmHead(false);
        IOException shape = assertThrows(IOException.class, () -> GptWeights.read(new ByteArrayInputStream(ok), "m", longer, DType.FLOAT32));
        assertTrue(shape.getMessage().contains("'wpe.weight' has shape [16, 24], expected [32, 24]"), shape.getMessage());
    }

    private static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).put(data).array();
    }
}
