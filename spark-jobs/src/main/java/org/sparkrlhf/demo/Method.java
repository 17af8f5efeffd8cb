package org.sparkrlhf.demo;

import java.util.Locale;

/**
 * The alignment methods the demo runs from one SFT model, one reward model and one set of
 * rankings. The online ones sample from the policy as it learns and are scored by the reward
 * model (the same PPO engine, with a critic or a group baseline); DPO learns from the rankings
 * themselves, and rejection sampling fine-tunes on the reward model's pick of n samples.
 */
enum Method {
    PPO(true, "PPO"), GRPO(true, "GRPO"), RLOO(true, "RLOO"), DPO(false, "DPO"), REJECTION(false, "rejection sampling"),
    /** The harmlessness task's: PPO on helpfulness held to a harm limit by a Lagrange multiplier (Safe RLHF), and with a fixed weight. */
    SAFE(true, "Safe RLHF (PPO-Lagrangian)"), WEIGHTED(true, "PPO on helpfulness - lambda x harm");

    /** Whether it samples from the policy while it learns (and so has a KL target to meet). */
    final boolean online;
    final String title;

    Method(boolean online, String title) {
        this.online = online;
        this.title = title;
    }

    /** The name in settings, stage names and run directories: ppo, grpo, rloo, dpo, rejection, safe, weighted. */
    String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    static Method of(String id) {
        return valueOf(id.toUpperCase(Locale.ROOT));
    }
}
