package org.sparkrlhf.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.sparkrlhf.tokenizer.Tokenizer;
import org.sparkrlhf.training.PreferenceGroup;

/**
 * Human preference records, either a pair {@code {prompt, chosen, rejected, margin?}} or a ranking
 * {@code {prompt, responses: [...], ranking: [...]}} where ranking lists response indices best
 * first; both may carry {@code annotator} and {@code criterion}, and {@code safe}: the annotator's
 * verdict on each response (true safe, false unsafe, null not judged), in the order of
 * {@code responses}, or of chosen then rejected. The annotation app's {@code labels.harmless}
 * (good, bad or null per response) serve the same way. Each response becomes the tokens of the
 * chat-templated prompt, the response and the end token.
 */
public final class PreferenceRecords {
    private PreferenceRecords() {}

    /** A record's comparisons and the length of the chat-templated prompt every one of its sequences starts with (DPO scores only what follows). */
    public record Prompted(PreferenceGroup group, int promptLength) implements java.io.Serializable {}

    public static Parsed<PreferenceGroup> parse(SourceLine src, int maxChars, Tokenizer tok, int contextLength) {
        Parsed<Prompted> p = parsePrompted(src, maxChars, tok, contextLength);
        return p.isOk() ? Parsed.ok(p.value().group(), src) : Parsed.bad(p.reason(), src);
    }

    public static Parsed<Prompted> parsePrompted(SourceLine src, int maxChars, Tokenizer tok, int contextLength) {
        String[] why = new String[1];
        JsonNode n = JsonRecord.object(src, why);
        if (n == null) return Parsed.bad(why[0], src);
        String prompt = text(n, "prompt");
        if (prompt == null) return Parsed.bad("missing or empty field 'prompt'", src);
        String annotator = n.path("annotator").asText(""), criterion = n.path("criterion").asText("");
        List<String> best = new ArrayList<>();
        int[] order = {0, 1}; // the i-th best response's place in the record, for its safety label
        double margin = 0;
        if (n.has("responses") || n.has("ranking")) {
            JsonNode rs = n.path("responses"), rk = n.path("ranking");
            if (!rs.isArray() || rs.size() < 2) return Parsed.bad("'responses' must be an array of at least 2 texts", src);
            if (!rk.isArray() || rk.size() != rs.size()) return Parsed.bad("'ranking' must list each of the " + rs.size() + " responses once", src);
            order = ComparisonRecords.permutation(rk, rs.size());
            if (order == null) return Parsed.bad("ranking " + rk + " is not a permutation of 0.." + (rs.size() - 1), src);
            for (int i : order) {
                JsonNode t = rs.get(i);
                if (!t.isTextual() || t.asText().isBlank()) return Parsed.bad("response " + i + " is empty or not a string", src);
                best.add(t.asText());
            }
        } else {
            String chosen = text(n, "chosen"), rejected = text(n, "rejected");
            if (chosen == null) return Parsed.bad("missing or empty field 'chosen' (or give 'responses' and 'ranking')", src);
            if (rejected == null) return Parsed.bad("missing or empty field 'rejected'", src);
            if (chosen.equals(rejected)) return Parsed.bad("chosen and rejected are identical", src);
            if (n.has("margin")) {
                if (!n.get("margin").isNumber() || n.get("margin").asDouble() < 0) return Parsed.bad("'margin' must be a number >= 0", src);
                margin = n.get("margin").asDouble();
            }
            best.add(chosen);
            best.add(rejected);
        }
        int[] safety = null;
        JsonNode verdicts = n.has("safe") ? n.get("safe") : n.path("labels").get("harmless"); // the annotation app's labels
        if (verdicts != null) {
            String field = n.has("safe") ? "safe" : "labels.harmless";
            if (!verdicts.isArray() || verdicts.size() != best.size())
                return Parsed.bad("'" + field + "' must be an array of " + best.size() + " verdicts, one per response in the record's order", src);
            safety = new int[best.size()];
            for (int i = 0; i < safety.length; i++) {
                JsonNode v = verdicts.get(order[i]);
                if (v.isNull()) continue;
                if (!v.isBoolean() && !(v.isTextual() && Set.of("good", "bad").contains(v.asText())))
                    return Parsed.bad(field + "[" + order[i] + "] is " + v + "; give true or false (or good or bad), or null", src);
                safety[i] = v.asBoolean() || v.asText().equals("good") ? PreferenceGroup.SAFE : PreferenceGroup.UNSAFE;
            }
        }
        int chars = prompt.length() + best.stream().mapToInt(String::length).sum();
        if (chars > maxChars) return Parsed.bad("text of " + chars + " characters exceeds data.maxChars = " + maxChars, src);
        int[] promptIds = ChatTemplate.userPrompt(prompt, tok);
        int[][] seqs = new int[best.size()][];
        for (int i = 0; i < seqs.length; i++) {
            int[] resp = tok.encode(best.get(i));
            int[] s = new int[promptIds.length + resp.length + 1];
            System.arraycopy(promptIds, 0, s, 0, promptIds.length);
            System.arraycopy(resp, 0, s, promptIds.length, resp.length);
            s[s.length - 1] = tok.eosToken();
            if (s.length > contextLength) return Parsed.bad("response " + i + " gives " + s.length + " tokens, beyond model.contextLength = " + contextLength, src);
            seqs[i] = s;
        }
        PreferenceGroup g = seqs.length == 2 && !n.has("ranking")
                ? new PreferenceGroup(seqs, new int[]{0}, new int[]{1}, new double[]{margin}, annotator, criterion, safety)
                : PreferenceGroup.ranking(seqs, annotator, criterion, safety);
        return Parsed.ok(new Prompted(g, promptIds.length), src);
    }

    private static String text(JsonNode n, String field) {
        JsonNode t = n.get(field);
        return t != null && t.isTextual() && !t.asText().isBlank() ? t.asText() : null;
    }
}
