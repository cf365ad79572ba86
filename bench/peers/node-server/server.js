// Issue 11's Node.js contestant: what a user would write in an afternoon to serve a small ONNX model.
// Usage: node server.js <model.onnx> <port>  (binds 127.0.0.1; 2 worker processes, or WORKERS=n)
// POST /_ml/trained_models/<id>/_infer with {"docs":[{"tensor":{"shape":[1,64],"data":[...]}}]}
// answers {"inference_results":[{"predicted_value":[[...]],"tensors":{"<output>":{"shape":[...],"data":[...]}}}]}.
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');

const [modelPath, port] = process.argv.slice(2);
const workers = Number(process.env.WORKERS || 2);
if (!modelPath || !port) {
  console.error('usage: node server.js <model.onnx> <port>');
  process.exit(2);
}

if (cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('listening', () => { if (++listening === workers) console.log(`listening on 127.0.0.1:${port} with ${workers} workers`); });
  // A worker that dies takes the bench's figures with it: stop rather than quietly serve on one.
  cluster.on('exit', (worker, code, signal) => { console.error(`worker ${worker.process.pid} exited (${signal || code})`); process.exit(1); });
} else {
  serve().catch((e) => { console.error(e); process.exit(1); });
}

async function serve() {
  const ort = require('onnxruntime-node');
  // One thread per worker: two workers on two cores, as the service runs 2 allocations × 1 thread.
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const inputName = session.inputNames[0];

  http.createServer((req, res) => {
    const match = req.method === 'POST' && /^\/_ml\/trained_models\/[^/]+\/_infer$/.exec(req.url.split('?')[0]);
    if (!match) return reply(res, 404, { error: 'not found' });
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const results = [];
        for (const doc of body.docs) {
          const { shape, data } = doc.tensor;
          const outputs = await session.run({ [inputName]: new ort.Tensor('float32', Float32Array.from(data), shape) });
          const tensors = {};
          for (const name of session.outputNames) {
            tensors[name] = { shape: outputs[name].dims, data: Array.from(outputs[name].data) };
          }
          const first = tensors[session.outputNames[0]];
          results.push({ predicted_value: nest(first.data, first.shape), tensors });
        }
        reply(res, 200, { inference_results: results });
      } catch (e) {
        reply(res, 400, { error: String(e && e.message || e) });
      }
    });
  }).listen(Number(port), '127.0.0.1');
}

function reply(res, status, value) {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

// Flat row-major data to nested arrays of the given shape.
function nest(data, shape) {
  if (shape.length <= 1) return data;
  const step = data.length / shape[0];
  const rows = [];
  for (let i = 0; i < shape[0]; i++) rows.push(nest(data.slice(i * step, (i + 1) * step), shape.slice(1)));
  return rows;
}
