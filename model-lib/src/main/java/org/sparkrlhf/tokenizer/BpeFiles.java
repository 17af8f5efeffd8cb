package org.sparkrlhf.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GPT-2's byte-level BPE in its original two files, {@code vocab.json} (token -> id, bytes written
 * through GPT-2's byte-to-unicode table) and {@code merges.txt} (one merge per line, in priority
 * order): written from the ranks jtokkit ships for {@code gpt2} (so an export carries the files
 * Hugging Face's GPT2Tokenizer loads), and read back as a {@code tokenizer.json} for the Rust
 * tokenizer (so a directory that has only these two files imports).
 */
public final class BpeFiles {
    private BpeFiles() {}

    static final String EOS = "<|endoftext|>";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** GPT-2's table: printable bytes map to themselves, the rest to code points from 256 up, in byte order. */
    static String[] byteToUnicode() {
        String[] out = new String[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int next = 256;
        for (int b = 0; b < 256; b++) out[b] = new String(Character.toChars(printable[b] ? b : next++));
        return out;
    }

    static String unicode(byte[] bytes, String[] table) {
        StringBuilder s = new StringBuilder();
        for (byte b : bytes) s.append(table[b & 0xff]);
        return s.toString();
    }

    /** Writes {@code vocab.json} and {@code merges.txt} for r50k_base (GPT-2), as Hugging Face's tiktoken conversion derives merges. */
    public static void writeGpt2(Path vocabJson, Path mergesTxt) throws IOException {
        List<byte[]> byRank = new ArrayList<>();
        try (InputStream in = BpeFiles.class.getClassLoader().getResourceAsStream("com/knuddels/jtokkit/r50k_base.tiktoken")) {
            if (in == null) throw new IOException("jtokkit's r50k_base.tiktoken is not on the classpath");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank()) continue;
                String[] kv = line.split(" ");
                int rank = Integer.parseInt(kv[1]);
                while (byRank.size() <= rank) byRank.add(null);
                byRank.set(rank, Base64.getDecoder().decode(kv[0]));
            }
        }
        String[] table = byteToUnicode();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int rank = 0; rank < byRank.size(); rank++) vocab.put(unicode(byRank.get(rank), table), rank);
        // every split of a token into two tokens is a merge, ordered by the token's rank, then the parts' ranks
        List<String[]> merges = new ArrayList<>();
        List<int[]> order = new ArrayList<>();
        for (int rank = 0; rank < byRank.size(); rank++) {
            byte[] t = byRank.get(rank);
            if (t.length < 2) continue;
            for (int i = 1; i < t.length; i++) {
                String l = unicode(java.util.Arrays.copyOfRange(t, 0, i), table), rr = unicode(java.util.Arrays.copyOfRange(t, i, t.length), table);
                Integer li = vocab.get(l), ri = vocab.get(rr);
                if (li != null && ri != null) {
                    merges.add(new String[] {l, rr});
                    order.add(new int[] {rank, li, ri});
                }
            }
        }
        Integer[] idx = new Integer[merges.size()];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        java.util.Arrays.sort(idx, Comparator.<Integer>comparingInt(i -> order.get(i)[0]).thenComparingInt(i -> order.get(i)[1]).thenComparingInt(i -> order.get(i)[2]));
        ObjectNode v = JSON.createObjectNode();
        vocab.forEach(v::put);
        v.put(EOS, byRank.size());
        Files.write(vocabJson, JSON.writeValueAsBytes(v));
        StringBuilder m = new StringBuilder("#version: 0.2\n");
        for (Integer i : idx) m.append(merges.get(i)[0]).append(' ').append(merges.get(i)[1]).append('\n');
        Files.writeString(mergesTxt, m.toString(), StandardCharsets.UTF_8);
    }

    /**
     * A byte-level BPE {@code tokenizer.json} (GPT-2's pre-tokenizer and decoder) built from
     * {@code vocab.json} and {@code merges.txt}; tokens that look special ({@code <|...|>}) become
     * added tokens, as GPT-2's {@code <|endoftext|>} is.
     */
    public static Path toTokenizerJson(Path vocabJson, Path mergesTxt, Path out) throws IOException {
        JsonNode vocab = JSON.readTree(vocabJson.toFile());
        if (!vocab.isObject() || vocab.size() == 0) throw new IOException(vocabJson + ": expected a JSON object of token -> id");
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().startsWith("<|") && e.getKey().endsWith("|>")) {
                ObjectNode t = added.addObject();
                t.put("id", e.getValue().asInt());
                t.put("content", e.getKey());
                t.put("single_word", false);
                t.put("lstrip", false);
                t.put("rstrip", false);
                t.put("normalized", true);
                t.put("special", true);
            }
        }
        root.putNull("normalizer");
        root.set("pre_tokenizer", byteLevel(false));
        root.set("post_processor", byteLevel(true));
        root.set("decoder", byteLevel(true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.set("vocab", vocab);
        ArrayNode merges = model.putArray("merges");
        List<String> lines = Files.readAllLines(mergesTxt, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.isBlank() || (i == 0 && l.startsWith("#version"))) continue;
            if (l.split(" ").length != 2) throw new IOException(mergesTxt + ":" + (i + 1) + ": a merge is two tokens separated by one space, got '" + l + "'");
            merges.add(l);
        }
        Files.write(out, JSON.writeValueAsBytes(root));
        return out;
    }

    private static ObjectNode byteLevel(boolean prefixSpace) {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", "ByteLevel");
        n.put("add_prefix_space", prefixSpace);
        n.put("trim_offsets", true);
        n.put("use_regex", true);
        return n;
    }
}
