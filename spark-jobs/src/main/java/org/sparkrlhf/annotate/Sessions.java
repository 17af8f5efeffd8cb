package org.sparkrlhf.annotate;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Sign-ins as signed cookies: {@code name|role|expiry|nonce} with an HMAC of it by the secret kept
 * beside the tokens, so a session survives a server restart (an annotator's retried submit after
 * a crash is still theirs). Each session has a CSRF token, an HMAC of its nonce, that every form
 * must send back; a page of another site cannot read it.
 */
final class Sessions {
    static final String COOKIE = "rlhf_session";
    private static final SecureRandom RANDOM = new SecureRandom();
    private final byte[] secret;
    private final long lifetimeMillis;

    /** A valid session: who, and the CSRF token its forms must carry. */
    record Session(AccessTokens.Principal principal, String csrf) {}

    Sessions(byte[] secret, int hours) {
        this.secret = secret;
        this.lifetimeMillis = hours * 3_600_000L;
    }

    /** A new session's cookie value. */
    String create(AccessTokens.Principal p, long now) {
        byte[] n = new byte[16];
        RANDOM.nextBytes(n);
        String body = p.name() + "|" + (p.admin() ? "admin" : "annotator") + "|" + (now + lifetimeMillis) + "|"
                + Base64.getUrlEncoder().withoutPadding().encodeToString(n);
        String b64 = Base64.getUrlEncoder().withoutPadding().encodeToString(body.getBytes(StandardCharsets.UTF_8));
        return b64 + "." + mac("session:" + b64);
    }

    /** The session a cookie value stands for, or null if it is forged, damaged or expired. */
    Session read(String cookie, long now) {
        if (cookie == null) return null;
        int dot = cookie.indexOf('.');
        if (dot <= 0) return null;
        String b64 = cookie.substring(0, dot);
        if (!MessageDigest.isEqual(mac("session:" + b64).getBytes(StandardCharsets.US_ASCII), cookie.substring(dot + 1).getBytes(StandardCharsets.US_ASCII)))
            return null;
        String[] f;
        try {
            f = new String(Base64.getUrlDecoder().decode(b64), StandardCharsets.UTF_8).split("\\|");
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (f.length != 4 || Long.parseLong(f[2]) < now) return null;
        return new Session(new AccessTokens.Principal(f[0], f[1].equals("admin")), mac("csrf:" + f[3]));
    }

    /** A CSRF token for the sign-in form, bound to a pre-session cookie value (double submit). */
    String signInCsrf(String preSession) {
        return mac("signin:" + preSession);
    }

    static String randomValue() {
        byte[] n = new byte[16];
        RANDOM.nextBytes(n);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(n);
    }

    static boolean same(String a, String b) {
        return a != null && b != null && MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    private String mac(String s) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(secret, "HmacSHA256"));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(m.doFinal(s.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
