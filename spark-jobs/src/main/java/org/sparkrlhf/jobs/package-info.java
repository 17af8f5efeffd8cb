/**
 * Spark applications: data-parallel training (pre-training, SFT, reward model) and PPO, each a
 * spark-submit main class driven by a typed config. Model maths stays in model-lib; this module
 * moves parameters, gradients and experience between the driver and the executors.
 */
package org.sparkrlhf.jobs;
