// The two model interfaces the evaluators need, so that any model (for example @loralab/model) plugs in:
// text generation for learning tasks and log-likelihoods for multiple-choice forgetting tasks.

/** One generation request. */
export interface GenerationRequest {
  /** Text the model continues. */
  prompt: string;
  /** Strings that end the generation; the evaluators truncate at them again, so honouring them is an optimisation. */
  stop: readonly string[];
  /** Most tokens to generate. */
  maxNewTokens: number;
  /** Sampling temperature; 0 means greedy. */
  temperature: number;
  /** Nucleus sampling mass (1 = off). */
  topP: number;
  /** Seed for this request's sampling, so runs repeat. */
  seed: number;
}

/** Generates one continuation (text after the prompt) per request, in request order. */
export interface Generator {
  generate(requests: readonly GenerationRequest[]): Promise<string[]>;
}

/** One log-likelihood request: score `continuation` given `context`. */
export interface LogLikelihoodRequest {
  context: string;
  continuation: string;
}

/** The model's answer to a LogLikelihoodRequest, as lm-evaluation-harness's `loglikelihood` returns it. */
export interface LogLikelihoodResult {
  /** Sum over the continuation's tokens of log p(token | everything before), natural log. */
  logLikelihood: number;
  /** True when every continuation token is the argmax prediction. */
  isGreedy: boolean;
}

/** Scores each request, in request order. */
export interface LogLikelihood {
  logLikelihood(requests: readonly LogLikelihoodRequest[]): Promise<LogLikelihoodResult[]>;
}

/** The log-likelihood of whole texts (lm-evaluation-harness's `loglikelihood_rolling`), with their token counts. */
export interface RollingLogLikelihood {
  rollingLogLikelihood(texts: readonly string[]): Promise<{ logLikelihood: number; tokens: number }[]>;
}
