package org.sparkrlhf.rl;

/** How a policy-gradient update gets its advantages: PPO's critic and GAE, or a critic-free group baseline. */
public enum Advantage {
    /** PPO: a learned critic, KL-shaped per-token rewards, generalized advantage estimation. */
    GAE,
    /** GRPO: group-normalized scores of K samples per prompt, the KL penalty (k3) in the loss. */
    GRPO,
    /** RLOO: the leave-one-out mean of K samples per prompt as baseline, the KL penalty in the sequence reward. */
    RLOO;

    public boolean needsCritic() {
        return this == GAE;
    }
}
