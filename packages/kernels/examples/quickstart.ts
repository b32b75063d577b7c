import '@tensorflow/tfjs'; // registers tfjs's gradients (tfjs-core alone has none); the model package does its own
import { causalAttention, crossEntropy, registerNativeBackend, rmsNorm } from '@loralab/kernels';
import * as tf from '@tensorflow/tfjs-core';

const { registered, backendName, report } = registerNativeBackend(); // one notice line when unavailable
console.log(registered, report.corename, report.blasConfig);
if (registered) await tf.setBackend(backendName); // else the fused ops below fall back to tfjs composites

const q = tf.variable(tf.randomNormal([2, 4, 16, 8], 0, 1, 'float32', 1)); // (B, nh, T, hs)
const norm = tf.ones([8]);
const labels = tf.tensor1d([3, -100, 7, 1], 'int32'); // -100 is ignored
const loss = () => {
  const h = rmsNorm(causalAttention(q, q, q), norm); // (B, nh, T, hs)
  return crossEntropy(tf.slice(tf.reshape(h, [-1, 32]), 0, 4), labels) as tf.Scalar; // logits (4, 32)
};
const { value, grads } = tf.variableGrads(loss, [q]);
console.log(tf.getBackend(), value.dataSync()[0]!.toFixed(4), grads[q.name]!.shape);
