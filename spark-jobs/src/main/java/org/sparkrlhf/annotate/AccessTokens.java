package org.sparkrlhf.annotate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * Who may sign in: one admin token and a token per annotator, kept in {@code _access.json} in the
 * feedback directory as SHA-256 hashes only (the tokens are 256 random bits, so a fast hash is as
 * safe as a slow one), with the secret that signs sessions. A token is shown once, when made.
 */
final class AccessTokens {
    static final String FILE = "_access.json";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A signed-in identity: an annotator's name, or the admin. */
    record Principal(String name, boolean admin) {}

    private final FileSystem fs;
    private final Path file;
    private final byte[] sessionSecret;
    private String adminHash;
    private final Map<String, String> annotatorHashes = new LinkedHashMap<>(); // name -> hash

    private AccessTokens(FileSystem fs, Path file, byte[] sessionSecret) {
        this.fs = fs;
        this.file = file;
        this.sessionSecret = sessionSecret;
    }

    /** Reads the tokens in {@code dir}, or makes the file with a new session secret. */
    static AccessTokens open(FileSystem fs, Path dir) throws IOException {
        Path file = new Path(dir, FILE), old = new Path(dir, "." + FILE + ".old");
        if (!fs.exists(file) && fs.exists(old)) fs.rename(old, file); // a crash mid-replacement: the file as it was
        if (!fs.exists(file)) {
            byte[] secret = new byte[32];
            RANDOM.nextBytes(secret);
            AccessTokens t = new AccessTokens(fs, file, secret);
            t.save();
            return t;
        }
        JsonNode n;
        try (InputStream in = fs.open(file)) {
            n = JSON.readTree(in);
        }
        if (!n.path("session_secret").isTextual()) throw new IOException(file + " has no session_secret: it is not this app's access file (move it away to start afresh)");
        AccessTokens t = new AccessTokens(fs, file, Base64.getDecoder().decode(n.get("session_secret").asText()));
        t.adminHash = n.path("admin_sha256").isTextual() ? n.get("admin_sha256").asText() : null;
        n.path("annotators_sha256").fields().forEachRemaining(e -> t.annotatorHashes.put(e.getKey(), e.getValue().asText()));
        return t;
    }

    byte[] sessionSecret() {
        return sessionSecret.clone();
    }

    boolean hasAdmin() {
        return adminHash != null;
    }

    boolean hasAnnotator(String name) {
        return annotatorHashes.containsKey(name);
    }

    java.util.Set<String> annotators() {
        return java.util.Collections.unmodifiableSet(annotatorHashes.keySet());
    }

    /** Makes (or replaces) the admin token; returns it, the only time it exists in clear. */
    synchronized String newAdminToken() throws IOException {
        String token = newToken();
        adminHash = hash(token);
        save();
        return token;
    }

    /** Makes (or replaces) {@code name}'s token; returns it, the only time it exists in clear. */
    synchronized String newAnnotatorToken(String name) throws IOException {
        if (!name.matches("[A-Za-z0-9._-]{1,40}")) // no ':', so no person can take an 'ai:' name, which AI labels carry
            throw new IllegalArgumentException("annotator name '" + name + "': use 1-40 letters, digits, '.', '_' or '-' ('ai:' names are kept for AI labels)");
        String token = newToken();
        annotatorHashes.put(name, hash(token));
        save();
        return token;
    }

    /** Who holds {@code token}, or null. Compared in constant time. */
    synchronized Principal check(String token) {
        if (token == null || token.isBlank()) return null;
        byte[] h = hash(token.strip()).getBytes(StandardCharsets.US_ASCII);
        Principal found = null;
        if (adminHash != null && MessageDigest.isEqual(h, adminHash.getBytes(StandardCharsets.US_ASCII))) found = new Principal("admin", true);
        for (Map.Entry<String, String> e : annotatorHashes.entrySet()) {
            if (MessageDigest.isEqual(h, e.getValue().getBytes(StandardCharsets.US_ASCII))) found = new Principal(e.getKey(), false);
        }
        return found;
    }

    private static String newToken() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    static String hash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void save() throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("session_secret", Base64.getEncoder().encodeToString(sessionSecret));
        if (adminHash != null) o.put("admin_sha256", adminHash);
        ObjectNode a = o.putObject("annotators_sha256");
        annotatorHashes.forEach(a::put);
        Path tmp = new Path(file.getParent(), "." + FILE + ".tmp");
        try (OutputStream out = fs.create(tmp, true)) {
            out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o));
        }
        fs.setPermission(tmp, new FsPermission((short) 0600)); // the session secret signs sign-ins
        // replaced by renames (HDFS does not rename over a file): a crash at any point leaves the old or the new file
        Path old = new Path(file.getParent(), "." + FILE + ".old");
        fs.delete(old, false);
        if (fs.exists(file) && !fs.rename(file, old)) throw new IOException("could not replace " + file);
        if (!fs.rename(tmp, file)) throw new IOException("could not write " + file);
        fs.delete(old, false);
    }
}
