package org.sparkrlhf.tokenizer;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

/**
 * GPT-2's byte-level BPE (r50k_base: 50,257 ids, {@code <|endoftext|>} = 50256) through jtokkit,
 * a pure-Java implementation that reproduces OpenAI's ids exactly.
 */
public final class Gpt2Tokenizer implements Tokenizer {
    public static final int END_OF_TEXT = 50256;
    private static final String END_OF_TEXT_STRING = "<|endoftext|>";
    private final Encoding encoding = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);

    @Override
    public int[] encode(String text) {
        IntArrayList out = new IntArrayList();
        int from = 0;
        while (true) {
            int at = text.indexOf(END_OF_TEXT_STRING, from);
            String piece = text.substring(from, at < 0 ? text.length() : at);
            if (!piece.isEmpty()) {
                IntArrayList ids = encoding.encodeOrdinary(piece);
                for (int i = 0; i < ids.size(); i++) out.add(ids.get(i));
            }
            if (at < 0) return out.toArray();
            out.add(END_OF_TEXT);
            from = at + END_OF_TEXT_STRING.length();
        }
    }

    @Override
    public String decode(int[] ids) {
        IntArrayList list = new IntArrayList(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= vocabSize()) throw new IllegalArgumentException("id " + id + " is outside GPT-2's vocabulary [0, 50257)");
            list.add(id);
        }
        return encoding.decode(list);
    }

    @Override public int vocabSize() { return 50257; }
    @Override public int eosToken() { return END_OF_TEXT; }
    @Override public int padToken() { return END_OF_TEXT; }
    @Override public String describe() { return "gpt2 (r50k_base)"; }
}
