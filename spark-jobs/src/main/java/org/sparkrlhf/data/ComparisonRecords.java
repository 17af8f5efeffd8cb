package org.sparkrlhf.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Comparisons to label: a prompt and two or more responses, from the records the reward job reads
 * (a pair {@code {prompt, chosen, rejected}} or a ranking {@code {prompt, responses, ranking}}) or
 * unlabelled ({@code {prompt, responses}} alone). A person's ranking, when there is one, is kept so
 * a judge's labels can be measured against it.
 */
public final class ComparisonRecords {
    private ComparisonRecords() {}

    /** A comparison; {@code ranking} (indices, best first) is null when no one has ranked it. */
    public record Comparison(String prompt, List<String> responses, int[] ranking, String annotator, String criterion) implements java.io.Serializable {}

    /** A ranking's indices when it is an array that lists each of 0..k-1 once, else null. */
    public static int[] permutation(JsonNode ranking, int k) {
        if (!ranking.isArray() || ranking.size() != k) return null;
        int[] out = new int[k];
        boolean[] seen = new boolean[k];
        for (int p = 0; p < k; p++) {
            JsonNode r = ranking.get(p);
            int i = r.canConvertToInt() && r.isIntegralNumber() ? r.asInt() : -1;
            if (i < 0 || i >= k || seen[i]) return null;
            seen[i] = true;
            out[p] = i;
        }
        return out;
    }

    public static Parsed<Comparison> parse(SourceLine src, int maxChars) {
        String[] why = new String[1];
        JsonNode n = JsonRecord.object(src, why);
        if (n == null) return Parsed.bad(why[0], src);
        if (!n.path("prompt").isTextual() || n.get("prompt").asText().isBlank()) return Parsed.bad("missing or empty field 'prompt'", src);
        List<String> responses = new ArrayList<>();
        int[] ranking = null;
        if (n.has("responses")) {
            JsonNode rs = n.get("responses");
            if (!rs.isArray() || rs.size() < 2) return Parsed.bad("'responses' must be an array of at least 2 texts", src);
            for (JsonNode r : rs) {
                if (!r.isTextual() || r.asText().isBlank()) return Parsed.bad("every response must be a non-empty string", src);
                responses.add(r.asText());
            }
            if (n.has("ranking")) {
                JsonNode rk = n.get("ranking");
                if (!rk.isArray() || rk.size() != responses.size()) return Parsed.bad("'ranking' must list each of the " + responses.size() + " responses once", src);
                ranking = permutation(rk, responses.size());
                if (ranking == null) return Parsed.bad("ranking " + rk + " is not a permutation of 0.." + (responses.size() - 1), src);
            }
        } else {
            if (!n.path("chosen").isTextual() || !n.path("rejected").isTextual())
                return Parsed.bad("needs 'responses' (and optionally 'ranking'), or 'chosen' and 'rejected'", src);
            responses.add(n.get("chosen").asText());
            responses.add(n.get("rejected").asText());
            ranking = new int[]{0, 1};
        }
        int chars = n.get("prompt").asText().length() + responses.stream().mapToInt(String::length).sum();
        if (chars > maxChars) return Parsed.bad("text of " + chars + " characters exceeds --max-chars = " + maxChars, src);
        return Parsed.ok(new Comparison(n.get("prompt").asText(), responses, ranking, n.path("annotator").asText(""), n.path("criterion").asText("")), src);
    }
}
