package org.sparkrlhf.preference;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The VADER sentiment lexicon with every rater's own judgement: for each of its 7,517 tokens, the
 * ten individual human ratings (-4 very negative .. +4 very positive). Each of the ten columns
 * is one real person, which is what lets a simulated panel disagree the way people do.
 */
public final class VaderLexicon implements java.io.Serializable {
    public static final int RATERS = 10;
    private final Map<String, int[]> ratings;

    private VaderLexicon(Map<String, int[]> ratings) {
        this.ratings = ratings;
    }

    /** Parses {@code vader_lexicon.txt}: token, mean, std, [r1, ..., r10], tab-separated. */
    public static VaderLexicon read(InputStream in, String source) throws IOException {
        Map<String, int[]> m = new HashMap<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            int lineNo = 0;
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) continue;
                String[] f = line.split("\t");
                if (f.length < 4) throw new IOException(source + ":" + lineNo + ": expected token, mean, std and ten ratings, got " + f.length + " fields");
                String list = f[3].trim();
                if (!list.startsWith("[") || !list.endsWith("]")) throw new IOException(source + ":" + lineNo + ": ratings must be a [..] list");
                String[] parts = list.substring(1, list.length() - 1).split(",");
                if (parts.length != RATERS) throw new IOException(source + ":" + lineNo + ": expected " + RATERS + " ratings, got " + parts.length);
                int[] v = new int[RATERS];
                for (int i = 0; i < RATERS; i++) v[i] = Integer.parseInt(parts[i].trim());
                m.put(f[0], v);
            }
        }
        if (m.isEmpty()) throw new IOException(source + ": no lexicon entries");
        return new VaderLexicon(m);
    }

    public int size() {
        return ratings.size();
    }

    /** Rater j's rating of a token, or null when the lexicon does not know it. */
    public Integer rating(String token, int rater) {
        int[] r = ratings.get(token);
        return r == null ? null : r[rater];
    }

    /** The mean of the ten ratings, or null. */
    public Double meanRating(String token) {
        int[] r = ratings.get(token);
        if (r == null) return null;
        double s = 0;
        for (int v : r) s += v;
        return s / RATERS;
    }
}
