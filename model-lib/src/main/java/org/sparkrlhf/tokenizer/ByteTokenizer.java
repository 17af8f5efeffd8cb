package org.sparkrlhf.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * UTF-8 bytes as ids 0..255, then the special tokens as 256, 257, ... (by default
 * {@code <|endoftext|>} = 256, which is also EOS and padding). Lossless on any text.
 */
public final class ByteTokenizer implements Tokenizer {
    public static final String END_OF_TEXT = "<|endoftext|>";
    private final List<String> specials;

    public ByteTokenizer(List<String> specials) {
        if (specials.isEmpty()) throw new IllegalArgumentException("a byte tokenizer needs at least one special token (EOS)");
        for (String s : specials)
            if (s == null || s.isEmpty()) throw new IllegalArgumentException("special tokens must be non-empty strings");
        this.specials = List.copyOf(specials);
    }

    public ByteTokenizer() {
        this(List.of(END_OF_TEXT));
    }

    @Override
    public int[] encode(String text) {
        List<Integer> ids = new ArrayList<>();
        int i = 0;
        outer:
        while (i < text.length()) {
            for (int s = 0; s < specials.size(); s++) {
                if (text.startsWith(specials.get(s), i)) {
                    ids.add(256 + s);
                    i += specials.get(s).length();
                    continue outer;
                }
            }
            int next = nextSpecial(text, i);
            for (byte b : text.substring(i, next).getBytes(StandardCharsets.UTF_8)) ids.add(b & 0xff);
            i = next;
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private int nextSpecial(String text, int from) {
        int next = text.length();
        for (String s : specials) {
            int at = text.indexOf(s, from + 1);
            if (at >= 0) next = Math.min(next, at);
        }
        return next;
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder out = new StringBuilder();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            if (id < 0 || id >= vocabSize()) throw new IllegalArgumentException("id " + id + " is outside this tokenizer's range [0, " + vocabSize() + ")");
            if (id < 256) {
                bytes.write(id);
            } else {
                out.append(bytes.toString(StandardCharsets.UTF_8));
                bytes.reset();
                out.append(specials.get(id - 256));
            }
        }
        return out.append(bytes.toString(StandardCharsets.UTF_8)).toString();
    }

    @Override public int vocabSize() { return 256 + specials.size(); }
    @Override public int eosToken() { return 256; }
    @Override public int padToken() { return 256; }
    @Override public String describe() { return "bytes+" + specials; }
}
