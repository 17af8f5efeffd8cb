package org.sparkrlhf.preference;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Agreement between rankings of the same responses (annotators with each other, or an AI judge with people): for two rankings of one item, the
 * share of response pairs they order the same way (Kendall's tau is twice it minus one). An
 * annotator's agreement pools every pair of responses over every co-annotator on every shared item.
 */
public final class RankingAgreement {
    private RankingAgreement() {}

    /** One person's ranking of one item (response indices, best first). */
    public record Ranking(String item, String annotator, int[] ranking) {}

    /** Response pairs compared with others and how many were ordered alike. */
    public record Tally(long pairs, long agreed) {
        public double rate() {
            return pairs == 0 ? Double.NaN : (double) agreed / pairs;
        }
    }

    /** Share of response pairs ordered alike by two rankings of the same responses. */
    public static Tally between(int[] a, int[] b) {
        int k = a.length;
        int[] posA = positions(a), posB = positions(b);
        long pairs = 0, agreed = 0;
        for (int i = 0; i < k; i++) {
            for (int j = i + 1; j < k; j++) {
                pairs++;
                if (Integer.signum(posA[i] - posA[j]) == Integer.signum(posB[i] - posB[j])) agreed++;
            }
        }
        return new Tally(pairs, agreed);
    }

    private static int[] positions(int[] ranking) {
        int[] pos = new int[ranking.length];
        for (int p = 0; p < ranking.length; p++) pos[ranking[p]] = p;
        return pos;
    }

    /** Per annotator (sorted by name) and overall (key {@code ""}), over items ranked by two or more. */
    public static Map<String, Tally> of(List<Ranking> rankings) {
        Map<String, List<Ranking>> byItem = new LinkedHashMap<>();
        for (Ranking r : rankings) byItem.computeIfAbsent(r.item(), k -> new ArrayList<>()).add(r);
        Map<String, long[]> t = new TreeMap<>();
        long[] all = new long[2];
        for (List<Ranking> rs : byItem.values()) {
            for (int i = 0; i < rs.size(); i++) {
                for (int j = i + 1; j < rs.size(); j++) {
                    if (rs.get(i).annotator().equals(rs.get(j).annotator())) continue;
                    Tally x = between(rs.get(i).ranking(), rs.get(j).ranking());
                    for (String who : new String[]{rs.get(i).annotator(), rs.get(j).annotator()}) {
                        long[] c = t.computeIfAbsent(who, k -> new long[2]);
                        c[0] += x.pairs();
                        c[1] += x.agreed();
                    }
                    all[0] += x.pairs();
                    all[1] += x.agreed();
                }
            }
        }
        Map<String, Tally> out = new LinkedHashMap<>();
        out.put("", new Tally(all[0], all[1]));
        t.forEach((k, v) -> out.put(k, new Tally(v[0], v[1])));
        return out;
    }
}
