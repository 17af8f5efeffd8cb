package org.sparkrlhf.annotate;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * A submitted form turned into a stored ranking record, checked field by field: the ranking must
 * be a permutation of the responses shown, labels and flags must name a criterion or flag this app
 * knows and a shown response, and nothing else may be sent. The record is what the reward job
 * reads: {@code prompt}, {@code responses}, {@code ranking} (best first), {@code annotator},
 * {@code criterion}, beside the round, item, labels, flags and timing.
 */
final class Judgement {
    private Judgement() {}

    private static final Set<String> LABEL_VALUES = Set.of("good", "bad");

    /** A client-made submission id: 8-64 letters, digits or '-' (the page sends a UUID). */
    static String submissionId(Map<String, String> form) throws Rejected {
        String id = form.get(FeedbackLog.ID);
        if (id == null || !id.matches("[A-Za-z0-9-]{8,64}")) throw new Rejected(400, "submission_id must be 8-64 letters, digits or '-' (the page makes one per item)");
        return id;
    }

    static ObjectNode record(Map<String, String> form, Item item, String annotator, String criterion, int[] shown, double seconds, long now) throws Rejected {
        int k = item.responses().size();
        for (String key : form.keySet()) {
            if (key.equals("csrf") || key.equals(FeedbackLog.ID) || key.equals("item") || key.equals("ranking")) continue;
            if (key.matches("label\\.[a-z]+\\.\\d") || key.matches("flag\\.\\d")) continue;
            throw new Rejected(400, "unknown form field '" + key + "' (expected csrf, submission_id, item, ranking, label.<criterion>.<i>, flag.<i>)");
        }
        int[] ranking = ranking(form.get("ranking"), k);
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put(FeedbackLog.ID, form.get(FeedbackLog.ID));
        o.put("round", item.round());
        o.put("item", item.id());
        o.put("annotator", annotator);
        o.put("criterion", criterion);
        o.put("prompt", item.prompt());
        ArrayNode rs = o.putArray("responses");
        item.responses().forEach(rs::add);
        ArrayNode rk = o.putArray("ranking");
        for (int r : ranking) rk.add(r);
        ArrayNode sh = o.putArray("shown");
        for (int s : shown) sh.add(s);
        ObjectNode labels = o.putObject("labels");
        for (String c : AnnotationSettings.LABEL_CRITERIA) {
            ArrayNode a = labels.putArray(c);
            for (int i = 0; i < k; i++) a.addNull();
        }
        ArrayNode flags = o.putArray("flags");
        for (Map.Entry<String, String> e : form.entrySet()) {
            String[] p = e.getKey().split("\\.");
            if (p[0].equals("label")) {
                if (!Arrays.asList(AnnotationSettings.LABEL_CRITERIA).contains(p[1]))
                    throw new Rejected(400, "label criterion '" + p[1] + "' is not one of " + Arrays.toString(AnnotationSettings.LABEL_CRITERIA));
                int i = response(p[2], k, e.getKey());
                if (e.getValue().isEmpty()) continue;
                if (!LABEL_VALUES.contains(e.getValue())) throw new Rejected(400, e.getKey() + " must be good, bad or empty, got '" + clip(e.getValue()) + "'");
                ((ArrayNode) labels.get(p[1])).set(i, e.getValue());
            } else if (p[0].equals("flag")) {
                int i = response(p[1], k, e.getKey());
                if (e.getValue().isEmpty()) continue;
                if (!Arrays.asList(AnnotationSettings.FLAGS).contains(e.getValue()))
                    throw new Rejected(400, e.getKey() + " must be one of " + Arrays.toString(AnnotationSettings.FLAGS) + " or empty, got '" + clip(e.getValue()) + "'");
                flags.addObject().put("response", i).put("flag", e.getValue());
            }
        }
        o.put("seconds", Math.round(seconds * 10) / 10.0);
        o.put("time", java.time.Instant.ofEpochMilli(now).toString());
        return o;
    }

    /** A ranking as sent ("2,0,3,1": response indices best first), which must order every one of the k responses once. */
    static int[] ranking(String text, int k) throws Rejected {
        String why = "ranking '" + clip(text) + "' is not a permutation of the " + k + " responses shown (each of 0.." + (k - 1) + " once, best first)";
        if (text == null || text.isBlank()) throw new Rejected(400, why);
        String[] parts = text.split(",", -1);
        if (parts.length != k) throw new Rejected(400, why);
        int[] r = new int[k];
        boolean[] seen = new boolean[k];
        for (int i = 0; i < k; i++) {
            String p = parts[i].strip();
            if (!p.matches("\\d")) throw new Rejected(400, why);
            r[i] = Integer.parseInt(p);
            if (r[i] >= k || seen[r[i]]) throw new Rejected(400, why);
            seen[r[i]] = true;
        }
        return r;
    }

    private static int response(String index, int k, String field) throws Rejected {
        int i = Integer.parseInt(index);
        if (i >= k) throw new Rejected(400, field + " names response " + i + ", but only 0.." + (k - 1) + " were shown");
        return i;
    }

    private static String clip(String s) {
        if (s == null) return "";
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
