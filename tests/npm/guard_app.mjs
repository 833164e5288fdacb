// The seed user's app, unmodified except for its base URL: the official openai npm SDK's
// OpenAIRealtimeWS (OpenAI form) or OpenAIRealtimeWS.azure (Azure form), pointed at Guard.
// Usage: node guard_app.mjs <openai|azure> <https base, e.g. https://127.0.0.1:PORT> <key> <format> <metadata JSON>
import OpenAI, { AzureOpenAI } from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';

const [form, base, apiKey, format, metadata] = process.argv.slice(2);
const azure = form === 'azure';
let rt;
if (azure) {
  const client = new AzureOpenAI({ apiKey, endpoint: base, apiVersion: '2025-04-01-preview',
    deployment: 'my-realtime-deployment' });
  rt = await OpenAIRealtimeWS.azure(client);
} else {
  rt = new OpenAIRealtimeWS({ model: 'gpt-realtime' }, new OpenAI({ apiKey, baseURL: `${base}/v1` }));
}
const chunks = [];
let transcript = '';
const types = [];
const timer = setTimeout(() => { console.error('timeout'); process.exit(3); }, 60000);
const gaFormat = { pcm16: { type: 'audio/pcm', rate: 24000 }, g711_ulaw: { type: 'audio/pcmu' },
  g711_alaw: { type: 'audio/pcma' } }[format];
const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'anything' }] }];

rt.on('event', (ev) => types.push(ev.type));
rt.on('error', (err) => { console.error('error', err?.message || err); process.exit(2); });
rt.socket.on('open', () => {
  if (azure) {   // the Azure deployment path speaks the beta protocol
    rt.send({ type: 'session.update', session: { modalities: ['audio', 'text'], output_audio_format: format,
      voice: 'alloy' } });
    rt.send({ type: 'response.create', response: { conversation: 'none', modalities: ['audio', 'text'],
      input, metadata: JSON.parse(metadata) } });
  } else {
    rt.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['audio'],
      audio: { output: { format: gaFormat, voice: 'alloy' } } } });
    rt.send({ type: 'response.create', response: { conversation: 'none', output_modalities: ['audio'],
      input, metadata: JSON.parse(metadata) } });
  }
});
const onAudio = (ev) => chunks.push(Buffer.from(ev.delta, 'base64'));
const onText = (ev) => { transcript += ev.delta; };
rt.on('response.output_audio.delta', onAudio);
rt.on('response.audio.delta', onAudio);
rt.on('response.output_audio_transcript.delta', onText);
rt.on('response.audio_transcript.delta', onText);
rt.on('response.done', (ev) => {
  clearTimeout(timer);
  const out = JSON.stringify({ transcript, audio: Buffer.concat(chunks).toString('base64'),
    status: ev.response.status, types });
  rt.close();
  process.stdout.write(out + '\n', () => process.exit(0));   // a pipe is asynchronous in Node
});
