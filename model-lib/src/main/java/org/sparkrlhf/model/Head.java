package org.sparkrlhf.model;

/** Output heads a {@link Gpt} can carry on top of its transformer trunk. */
public enum Head {
    /** Next-token logits (the policy, or a pre-trained / SFT language model). */
    LM,
    /** One scalar per position: the PPO critic's value estimate. */
    VALUE,
    /** One scalar per sequence, read at its last real token: the reward model's score. */
    REWARD
}
