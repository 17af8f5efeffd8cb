package org.sparkrlhf.model;

import org.sparkrlhf.tensor.Tensor;

/**
 * The outputs of one forward pass. Its tensors belong to the model's workspace: they are valid until
 * the same model runs its next forward pass.
 *
 * @param batch   the input
 * @param logits  [B*T, V] next-token logits, or null without an LM head
 * @param values  [B*T] value estimates, or null without a value head
 * @param rewards [B] scores at each row's last real token, or null without a reward head
 */
public record Forward(Batch batch, Tensor logits, Tensor values, Tensor rewards) {}
