#!/usr/bin/python3
"""Golden chat-template renderings for @loralab/tokenizer's tests, made the way transformers renders them.

transformers' apply_chat_template uses a sandboxed Jinja2 environment with trim_blocks, lstrip_blocks and the
loopcontrols extension, a `tojson` filter that keeps non-ASCII and takes indent, and a `raise_exception` global.
This script does the same with Debian's python3-jinja2 and records, for each case, the length and sha256 of the
rendered text (not the text, so no data file is copied into the project).

Run: /usr/bin/python3 tools/reference/chat-templates.py > packages/tokenizer/test/fixtures/chat-templates.json
Needs: apt-get install python3-jinja2; ../shared/data (the real Granite template and conversations).
"""
import hashlib
import json
import os
import sys

from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

SHARED = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared', 'data')
# Must equal CHATML_TEMPLATE in packages/tokenizer/src/train-bpe.ts.
CHATML = ("{{ bos_token }}{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] "
          "+ '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters['tojson'] = tojson
env.globals['raise_exception'] = raise_exception

granite = json.load(open(os.path.join(SHARED, 'tokenizers', 'granite-3', 'tokenizer_config.json')))['chat_template']
conversations = [json.loads(line)['messages'] for line in open(os.path.join(SHARED, 'instruct', 'multi_turn_chat.jsonl'))]
tools = [{'type': 'function', 'function': {'name': 'get_weather', 'description': 'Weather in a city, in °C',
          'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}, 'required': ['city']}}}]

cases = []
for name, source, bos in [('granite', granite, '<|end_of_text|>'), ('chatml', CHATML, '<|begin_of_text|>')]:
    template = env.from_string(source)
    for i, messages in enumerate(conversations):
        for gen in (False, True):
            for with_tools in ((False, True) if name == 'granite' and i < 2 else (False,)):
                rendered = template.render(messages=messages, add_generation_prompt=gen, bos_token=bos,
                                           eos_token='<|end_of_text|>', tools=tools if with_tools else None)
                cases.append({'template': name, 'conversation': i, 'add_generation_prompt': gen, 'tools': with_tools,
                              'length': len(rendered), 'sha256': hashlib.sha256(rendered.encode()).hexdigest()})
json.dump({'generator': 'tools/reference/chat-templates.py (python3-jinja2 ' + __import__('jinja2').__version__ + ')',
           'tools': tools, 'cases': cases}, sys.stdout, indent=1, ensure_ascii=False)
print()
