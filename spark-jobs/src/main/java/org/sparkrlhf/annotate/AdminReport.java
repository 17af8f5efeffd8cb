package org.sparkrlhf.annotate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.sparkrlhf.preference.RankingAgreement;

/**
 * What the admin page shows, kept up to date as judgements arrive (and rebuilt from the log on a
 * restart): per round and annotator the judgements, skips, time per item and pace; agreement on
 * items several people ranked; and every flagged response.
 */
final class AdminReport {
    private static final class Tally {
        int judged, skipped;
        long last;
        final List<Double> seconds = new ArrayList<>();
    }

    private final Map<String, Map<String, Tally>> byRound = new TreeMap<>(); // round -> annotator -> tally
    private final List<Long> times = new ArrayList<>();
    private final List<RankingAgreement.Ranking> rankings = new ArrayList<>();
    private final List<ObjectNode> flagged = new ArrayList<>();

    private Tally tally(JsonNode r) {
        return byRound.computeIfAbsent(r.path("round").asText(), k -> new TreeMap<>()).computeIfAbsent(r.path("annotator").asText(), k -> new Tally());
    }

    synchronized void judged(JsonNode r) {
        Tally t = tally(r);
        t.judged++;
        long at = Instant.parse(r.path("time").asText()).toEpochMilli();
        t.last = Math.max(t.last, at);
        t.seconds.add(r.path("seconds").asDouble());
        times.add(at);
        int[] ranking = new int[r.path("ranking").size()];
        for (int i = 0; i < ranking.length; i++) ranking[i] = r.path("ranking").get(i).asInt();
        rankings.add(new RankingAgreement.Ranking(r.path("item").asText(), r.path("annotator").asText(), ranking));
        for (JsonNode f : r.path("flags")) {
            int i = f.path("response").asInt();
            String text = r.path("responses").path(i).asText();
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            o.put("round", r.path("round").asText());
            o.put("item", r.path("item").asText());
            o.put("annotator", r.path("annotator").asText());
            o.put("flag", f.path("flag").asText());
            o.put("response", i);
            o.put("prompt", clip(r.path("prompt").asText()));
            o.put("text", clip(text));
            o.put("time", r.path("time").asText());
            flagged.add(o);
        }
    }

    synchronized void skipped(JsonNode r) {
        Tally t = tally(r);
        t.skipped++;
        t.last = Math.max(t.last, Instant.parse(r.path("time").asText()).toEpochMilli());
    }

    private static String clip(String s) {
        return s.length() > 400 ? s.substring(0, 400) + "..." : s;
    }

    synchronized ObjectNode toJson(long now) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        Map<String, RankingAgreement.Tally> agree = RankingAgreement.of(rankings);
        ArrayNode rounds = o.putArray("rounds");
        for (var round : byRound.entrySet()) {
            ObjectNode ro = rounds.addObject();
            ro.put("round", round.getKey());
            int j = 0, s = 0;
            ArrayNode people = ro.putArray("annotators");
            for (var a : round.getValue().entrySet()) {
                Tally t = a.getValue();
                j += t.judged;
                s += t.skipped;
                ObjectNode p = people.addObject();
                p.put("annotator", a.getKey());
                p.put("judged", t.judged);
                p.put("skipped", t.skipped);
                if (!t.seconds.isEmpty()) p.put("median_seconds", median(t.seconds));
                if (t.last > 0) p.put("last_active", Instant.ofEpochMilli(t.last).toString());
            }
            ro.put("judged", j);
            ro.put("skipped", s);
        }
        ArrayNode ag = o.putArray("agreement");
        for (var e : agree.entrySet()) {
            ObjectNode a = ag.addObject();
            a.put("annotator", e.getKey().isEmpty() ? "(all)" : e.getKey());
            a.put("response_pairs", e.getValue().pairs());
            if (e.getValue().pairs() > 0) {
                a.put("agreement", e.getValue().rate());
                a.put("kendall_tau", 2 * e.getValue().rate() - 1);
            }
        }
        long lastHour = times.stream().filter(t -> now - t < 3_600_000L).count();
        long lastTen = times.stream().filter(t -> now - t < 600_000L).count();
        ObjectNode th = o.putObject("throughput");
        th.put("judgements", times.size());
        th.put("last_hour", lastHour);
        th.put("per_minute_last_10_min", lastTen / 10.0);
        ArrayNode fl = o.putArray("flagged");
        flagged.forEach(fl::add);
        return o;
    }

    private static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }
}
