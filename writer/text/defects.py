"""Text in a section that is not part of the document, as a reader would see it.

Chat models write each section as if it were a reply of its own: a title line, sub-headings,
"In conclusion, ..." halfway through the document, remarks about the text ("Here is the
section:", "I hope this helps"), copies of the prompt it was given, a paragraph about
something else entirely (code, maths, a new task), sentences already said in an earlier
section, and an opening that starts the topic over. `find_defects` finds each kind;
`remove_defects` cuts those that can be cut cleanly (a line, a sentence, a paragraph, or
everything after the point where the model went off) and says what it could not cut, so the
control unit can re-run the section with the failure fed back.

Every rule is lexical and local, so it is cheap enough to run on every draft, and each is
written against the shapes small models actually produce, with prose that merely resembles
them (a paragraph that starts with "Here", a list of bold terms, a poem's short lines) kept.
Cuts keep the text's own line breaks: a list stays a list.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from writer.text.genre import narrative
from writer.text.paragraphs import renumber_lists, separate_paragraphs
from writer.text.words import STOPWORDS, content_words, stem, tokens

KINDS = ("heading", "conclusion", "chatter", "echo", "off_task", "repeated", "restart")
LABELS = {
    "heading": "heading or title line inside the section",
    "conclusion": "a conclusion before the last section, or a second one in it",
    "chatter": "a remark about the text instead of the text",
    "echo": "a copy of the prompt",
    "off_task": "text about something else (code, maths or a new task)",
    "repeated": "a sentence already written, in an earlier section or earlier in this one, or a phrase said twice in it",
    "restart": "an opening that introduces the topic again",
}

_SENTENCE = re.compile(r"[^.!?。！？\n]*(?:[.!?。！？]+[\"”’)\]]*|$)")
_NUMBER = r"(?:\d+|[ivxlc]+|one|two|three|four|five|six|seven|eight|nine|ten)"

_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)")
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)[^*_\n]{1,100}(\*\*|__)\s*:?\s*$")
_LABEL_LINE = re.compile(rf"^\s*[*_]*\s*(section|part|chapter|step)\s+{_NUMBER}\b", re.IGNORECASE)
_TITLE_LINE = re.compile(r"^\s*[*_]*\s*(title|heading|subtitle)\s*:", re.IGNORECASE)
_MARKER_LINE = re.compile(r"^\s*(<<.*>>|\[\[.*\]\]|={3,}|-{3,}|\*{3,})\s*$")
_END_PUNCT = ".!?:;,。！？\"”’)"

_CONCLUSION = re.compile(
    r"^\W*(in conclusion|to conclude|in summary|to summari[sz]e|to sum (it )?up|in closing|all in all|"
    r"in short, (the|this|these|we)|to wrap up|conclusion\W{0,3}:)", re.IGNORECASE)

# Remarks addressed to the user, or about the text, instead of the text.
_CHATTER_LEAD = re.compile(
    r"^\W*(?:(?:sure|certainly|of course|okay|ok|absolutely|great)\b[!,.]?\s*)?"
    r"(?:(?:here\s+is|here's|here\s+are|below\s+is|this\s+is)\s+(?:the|a|an|my|your|our)\s+(?:[\w'-]+\s+){0,4}"
    r"(?:version|text|paragraph|section|essay|article|story|draft|rewrite|revision|continuation|response|part|"
    r"chapter|piece|post|letter|poem)s?\b[^.!?]*(?::|[.!]?\s*$)"
    r"|(?:sure|certainly|of course|okay|absolutely)\b[!,.]?\s*$"
    r"|.*\b(?:edited|revised|rewritten|expanded|updated|improved|longer)\s+version\b.*:\s*$)",
    re.IGNORECASE)
_CHATTER_TRAIL = re.compile(
    r"^\W*(?:i hope (?:this|that|it|you)|(?:please )?let me know|i'?m here to help|feel free to|is there anything else|i(?:'d| would) be happy|"
    r"if you (?:need|want|would like|have) (?:any|more|further|other)|your contribution should|i will make it|"
    r"please note that this|note: this (?:text|section|article)|thank you for|"
    r"(?:to learn more|for more information|for further reading)(?: about [^,.]{1,60})?, (?:you|readers) (?:can|could|may|should))",
    re.IGNORECASE)
# The chat model signing off at the end of a paragraph of prose ("... immediately. Thank you for reading my passage! I
# hope that the shorter and more detailed version meets your needs."): the rest of the paragraph is its reply. Tighter
# than _CHATTER_TRAIL, which judges a whole paragraph: "Feel free to ask your dentist" is advice inside prose, and
# "Thank you for reading this newsletter!" how a newsletter ends.
_SIGN_OFF = re.compile(
    r"^(?![\"“'‘])\W*(?:thank(?:s| you) for (?:reading my (?:passage|response|answer|text|essay|article|story)|"
    r"your request|asking)|i hope (?:that )?(?:this|it|you|the (?:[\w-]+ ){0,5}"
    r"(?:version|text|article|passage|essay|answer|response|story|section|piece)) (?:helps|helped|meets|was helpful|"
    r"is helpful|answers|gives|has been)|(?:please )?let me know if you (?:have|need) (?:any )?(?:other |more |further |additional )?"
    r"(?:questions|help|changes|assistance|information)|is there anything else (?:i|you)|goodbye\W*$"
    r"|if you have any (?:other |more |further )?questions(?: or need [^.!?]{0,60})?, (?:please|feel free)\b"
    r"|thank(?:s| you)(?: so much| very much)?\W*$)",
    re.IGNORECASE)
# Writing whose own close may sign off ("Please let me know if you have any questions." ending an email)
_CORRESPONDENCE = re.compile(r"\b(?:letters?|e-?mails?|messages?|memos?|replies|reply|notes? to)\b", re.IGNORECASE)
# A refusal from the chat model ("I'm sorry, but I can't assist with that request."): a reply, never the text. A
# paragraph that opens with a quote is a character speaking, and is kept.
_REFUSAL = re.compile(
    r"^(?![\"“'‘])\W*(?:(?:(?:i'?m|i am|we'?re|we are) sorry|sorry|unfortunately|i apologi[sz]e)\b[^.!?]{0,40}?\b)?"
    r"(?:i|we)(?:'m|’m| am|'re| are)? (?:can(?:no|'|’)t|cannot|unable|not able)(?: to)? (?:assist|help|fulfil|fulfill|"
    r"comply|provide|write|create|engage|generate|continue|complete)(?: (?:with|in|on))? (?:that|this|your|such|these)\b",
    re.IGNORECASE)
# A story ended before its last section ("And so, the end of the story was over."): a conclusion of its own kind.
_STORY_END = re.compile(r"^\W*the end\W*$|\bthe end of (?:the|our|this|my) (?:story|tale) (?:was|is|had|has)\b|"
                        r"^\W*and so,? the end\b|\bhappily ever after\b", re.IGNORECASE)
# A closing paragraph's openers that only a conclusion uses; they end a section early when it is not the last.
_SUMMING = r"overall|ultimately|in the end"
_CLOSING_LAST = re.compile(rf"^\W*(?:{_SUMMING}|finally, (?:it is|we|the)),? ", re.IGNORECASE)
# A paragraph summing the piece up; in the last section, one right before "In conclusion, ..." is a first close.
_SUMMING_UP = re.compile(rf"^\W*(?:{_SUMMING}|all things considered),? ", re.IGNORECASE)
# The document, or a part of it, named as the subject of a sentence ("This introduction", "The subsequent sections")
_SELF = (r"(?:this|the|our) (?:introduction|conclusion)|(?:this|our) (?:section|chapter|article|essay|piece|guide|report|"
         r"overview|summary|draft|text|post|paper)|these (?:sections|chapters|paragraphs)"
         r"|the (?:subsequent|following|final|last|next|remaining|previous|preceding|opening|closing|first) "
         r"(?:sections?|chapters?|paragraphs?)")
_META = re.compile(
    r"\b(?:this|the above|your|my) (?:article|essay|section|piece|text|story|post|passage|response|paragraph|"
    r"chapter|draft|answer|rewrite)\b.{0,40}\b(?:is (?:a |an |very |quite |really )?(?:well|great|good|excellent|"
    r"nice|informative|engaging|clear|strong)|(?:has|have) been (?:written|revised|rewritten|expanded)|"
    r"meets the|word count|(?:could|can|should) be improved|needs? (?:more|some))"
    r"|\bi (?:do )?have (?:one|a few|some) suggestions?\b|\bas an ai\b|\bas a language model\b"
    r"|\bword count\s*[:=]|\(\s*\d+\s+words\s*\)|\bthe (?:past|previous|last|next) part (?:concludes|ends|continues)\b"
    r"|\bin this (?:section|article|essay|part|chapter|post|piece),? (?:we|i) (?:will|shall|'ll)\b"
    r"|^\W*this (?:section|article|essay|part|chapter|piece) (?:will )?(?:explores?|discuss(?:es)?|examines?|covers?|"
    r"delves?|looks? at)\b"
    # a description of the piece instead of the piece: "The article then provides an overview of ...", "The piece
    # is now about twice as long", "In section 2, "Background", the piece continues ..." (answers to our prompts)
    r"|\b(?:the|this) (?:piece|article|essay|introduction|passage) (?:then |also |now |first |further |further )?"
    r"(?:introduces|provides an overview|continues the|covers the|covers a (?:wide )?(?:range|variety) of|"
    r"discusses the|highlights the|describes the|is now|has been (?:divided|expanded|extended|lengthened))\b"
    # the Extender's reply about its rewrite: "Now, this is about twice as long: ...", "This is a very
    # comprehensive and detailed version of the article."
    r"|^\W*(?:now,? )?this is (?:now )?(?:about |roughly |nearly |almost )?(?:twice|three times|double) as long\b"
    r"|\bversion of the (?:article|essay|text|piece|section|story|post|chapter)\b"
    r"|^\W*in (?:section|part|chapter) \d+\b[^.]{0,60}\bthe (?:piece|article|essay|text)\b"
    r"|^\W*in (?:section|part|chapter) \d+,? (?:we|i) (?:examine|discuss|look|explore|cover|describe|turn)\b"
    # a table of contents in prose: "In the second section, we focus on ...", "In the sixth section, we end ..."
    r"|^\W*in the (?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|next|final|last) "
    r"(?:section|part|chapter),? (?:we|i)\b"
    # a section announcing where it sits: "The first section provides some background ...", "We continue this
    # section with ...", "In section 2, "Panda's Body", I will continue ...", "The work also addresses ..."
    r"|^\W*the (?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|next|previous|last|final|opening|"
    r"closing) (?:section|part|chapter) (?:also |then )?(?:provides|gives|covers|discusses|describes|introduces|"
    r"explores|focuses|looks|examines|presents|outlines|offers)\b"
    r"|^\W*(?:now,? )?we (?:have|continue|move on to|turn to|come to|begin|start|end|close) (?:with )?(?:this|the next|"
    r"the|our) (?:section|part|chapter)\b"
    r"|^\W*in (?:section|part|chapter) \d+\b[^.]{0,60}\b(?:i|we) (?:will|shall|'ll|continue|turn|look|discuss|explore)\b"
    r"|^\W*the work (?:also |then )?(?:addresses|covers|discusses|explores|examines|describes|introduces|highlights)\b"
    # the document describing itself by its title: "The Hong Kong Travel Guide is a comprehensive guide that covers
    # various aspects of Hong Kong"
    r"|\b(?:the|this) (?:[\w'-]+ ){0,4}(?:guide|article|essay|report|introduction|overview|piece|post|paper) "
    r"(?:is a comprehensive (?:guide|overview|introduction|resource|look)|(?:that )?covers (?:various|many|all|several) "
    r"aspects of)\b"
    r"|^\W*this is the (?:\w+ )?(?:section|part|paragraph|chapter) of the (?:[\w-]+ ){0,2}(?:article|essay|piece|text|story)\b"
    r"|\bplease let me know if you need\b|\bi'?m here to help\b"
    r"|\bthe (?:article|essay|piece|text|section) is (?:about )?\d+ words\b"
    r"|^\W*throughout the (?:article|essay|piece),? (?:we|i)\b"
    r"|^\W*it (?:then )?(?:goes on to (?:describe|discuss|explain)|concludes by|ends by)\b"
    # the piece's plan told to its reader: "The piece concludes by summarizing the key points", "Next, the purpose
    # of the travel guide is discussed.", "The reader is asked about the importance of visiting Hong Kong"
    r"|^\W*(?:the|this) (?:piece|article|essay|guide|report|post|paper|section|chapter|text) (?:then |finally |also )?"
    r"(?:concludes|ends|closes|begins|opens|starts) (?:by \w+ing|with (?:a|an) (?:call to action|summary|overview|"
    r"introduction))\b"
    r"|^\W*(?:next|then|finally|lastly),? the (?:[\w'-]+ ){1,6}(?:is|are) (?:discussed|introduced|explored|covered|"
    r"described|explained|examined|outlined|presented)\b"
    r"|^\W*the reader is (?:then |also |first )?(?:asked|introduced to|taken through|given (?:an?|the) (?:overview|"
    r"introduction|summary))\b"
    # a section describing itself: "This section introduces the history of ...", "... provides a deeper understanding"
    r"|^\W*this (?:section|chapter|part) (?:also |then |first )?(?:introduces|provides (?:a|an) (?:\w+ )?"
    r"(?:overview|understanding|introduction|look|summary)|highlights|touches on|outlines|summari[sz]es|includes "
    r"(?:examples|a discussion|an overview))\b"
    # the piece announcing itself: "The article aims to provide an overview of ...", "The piece will cover ..."
    r"|\b(?:the|this) (?:piece|article|essay|report|post|guide|paper|text|section|introduction) (?:aims|seeks|sets out|"
    r"intends|is going|is intended) to\b"
    r"|\b(?:the|this) (?:piece|article|essay|report|post|paper|section) will (?:also |then |now |first )?"
    r"(?:cover|explore|discuss|examine|provide|look at|focus on|delve|outline|describe|highlight|introduce|address|"
    r"be (?:about|divided|written|split|structured|organi[sz]ed))\b"
    # the plan told as the piece's: 'In the "Introduction", we will explore ...', "Finally, we will conclude with a
    # summary of ...", "We hope that this article will be helpful to ..."
    r"|^\W*in the [\"“][^\"”]{1,60}[\"”](?: section| part| chapter)?,? (?:we|i) (?:will|shall|'ll)\b"
    r"|^\W*(?:finally|lastly|then),? (?:we|i) will (?:conclude|end|close|finish|wrap up) (?:with|by)\b"
    r"|\b(?:we|i) hope (?:that )?(?:this|the|our|my) (?:article|essay|piece|report|post|guide|paper|text|section|"
    r"information|introduction|overview) "
    r"(?:will be|is|was|has been) (?:helpful|useful|informative)\b"
    # the piece praising or summing itself up: "Overall, the piece serves as a valuable resource for anyone interested
    # in ...", "In conclusion, the piece provides a comprehensive understanding of ...", "The reader will gain a deeper
    # appreciation for ...", "Finally, the section will conclude by summarizing ...", "This report will be valuable"
    r"|^\W*(?:in conclusion, |in summary, |overall, |finally, |lastly, )?(?:the|this) (?:piece|section|essay) (?:also )?"
    r"(?:provides|serves as|encourages|offers|gives|concludes|will conclude|highlights|is a (?:valuable|useful|helpful))\b"
    r"|^\W*this (?:report|article|guide|post|paper) (?:will be|is) (?:a |an )?(?:valuable|useful|helpful|"
    r"(?:valuable |useful |helpful |important )?(?:resource|tool))\b"
    r"|^\W*(?:the reader|readers) will (?:gain|learn|come away|get a|discover|find out)\b"
    r"|\b(?:resource|guide|read|reference) for anyone (?:interested in|who wants to|looking to|seeking to)\b"
    r"|^\W*this (?:story|tale) (?:provides|offers|gives (?:a|an|the reader))\b"
    # the reply calling itself a summary: "This summary provides a comprehensive overview of the risks ..."
    r"|^\W*this (?:summary|overview) (?:also )?(?:provides|offers|gives|covers|highlights|outlines)\b"
    # the document describing what it offers its reader: "The travel guide provides readers with information on
    # ...", "The guide is designed to be easy to read", "The Hong Kong History section begins by introducing ..."
    r"|\b(?:the|this) (?:travel |user |study )?(?:guide|article|essay|report|post|paper|piece) (?:also )?"
    r"(?:provides (?:the )?readers? with|is designed to be|is divided into \w+ (?:sections|parts|chapters))\b"
    r"|^\W*the (?:[\w'-]+ ){1,5}section (?:begins|starts|opens|ends|closes) (?:by \w+ing|with (?:an? |the )?"
    r"(?:introduction|overview|summary|discussion|look at))\b"
    r"|\bin this (?:piece|article|essay|report|post|guide|paper|text|section|part|chapter),? (?:we|i) (?:will|shall|'ll|"
    r"are going to|explore|discuss|examine|look at)\b"
    # the document or a part of it as the subject, telling what it does for its reader: "This introduction provides
    # a basic overview of ...", "The subsequent sections then provide ...", "The final section ends with a statement
    # about ...", "The introduction and each of its sections provide readers with ...", "Note: This introduction
    # assumes that the reader ...", "..., the introduction ensures that readers receive ..." (a noun followed by its
    # verb: "The introduction of rabbits provides ..." and "These sections of the wall" are not about the text)
    rf"|(?:^\W*(?:(?:note|finally|additionally|overall|in short|in addition|thus|also|moreover)[,:]? )?|, )(?:{_SELF})"
    r"(?: and [^.,;]{1,40})? (?:then |also |further |now |first |thus |therefore |simply )?"
    r"(?:provides?|covers?|ends?|ensures?|allows?|helps?|assumes?|gives?|offers?|focus(?:es)?|describes?|discuss(?:es)?|"
    r"explores?|highlights?|concludes?|includes?|should be|is (?:just|only|meant|intended)|serves?|aims?|presents?|"
    r"outlines?|introduces?|summari[sz]es?|emphasi[sz]es?|delves?|walks|takes (?:the )?readers?)\b"
    r"|(?:^\W*|, )(?:the reader|readers) will (?:gain|learn|come away|get a|discover|find out|have a)\b"
    # the model's reply to its user, wherever it says so: "We hope that this information will be helpful to readers.
    # If there is anything else I can assist you with, please let me know! Please feel free to share any ..."
    r"|\bif there(?:'s| is) anything else\b|\b(?:i|we) can (?:assist|help) you\b"
    r"|^\W*(?:please )?feel free to (?:share (?:any|your) (?:additional |other |more )?(?:details|information|feedback|"
    r"thoughts)|ask (?:me|if you)|reach out to me|contact me|let me know)\b"
    r"|\bread the (?:entire|whole|full|rest of the) (?:article|essay|piece|guide|report|post|text)\b"
    r"|\b(?:before|after|by|while) reading this (?:introduction|article|essay|guide|piece|section|report|post|text)\b"
    r"|^\W*to learn more about [^,.]{1,60}, (?:you|readers) (?:can|could|may|might|should)\b"
    r"|^\W*(?:now,? )?we will (?:now |also )?(?:continue|begin|start|end|close|conclude|finish) (?:by|with)\b"
    # the text planned aloud, from the 0.5B's wedding speech: "In the first paragraph, we will express gratitude ...
    # We will say something like, ... This will be followed by a brief statement about ...", "I'll also include some
    # additional details and examples to make it more engaging and informative."
    r"|^\W*in the (?:first|second|third|fourth|fifth|next|final|last|opening|closing) paragraph,? (?:we|i) "
    r"(?:will|shall|'ll)\b|\b(?:we|i) (?:will|'ll|could|can|might) say something like\b"
    r"|^\W*this will be followed by (?:a|an|the)\b|\bto make it more (?:engaging|informative|detailed|interesting|"
    r"readable|vivid)\b|\ba piece of writing\b", re.IGNORECASE)
# A sentence that goes on describing the piece after one of the above ("It also covers ...", "Finally, it concludes
# by ..."): counted towards a paragraph that describes the piece, never cut on its own (prose says "It covers 40 acres")
_META_CONTINUED = re.compile(
    r"^\W*(?:finally, |lastly, |additionally, )?(?:it|the (?:story|tale|piece|article|essay)) (?:also |then |further )?"
    r"(?:covers|includes|highlights|touches on|discusses|explores|examines|describes|provides|offers|concludes|"
    r"introduces|outlines|delves|begins with|ends with|(?:will )?(?:allows?|helps?|ensures?|gives?) (?:the )?readers?)\b"
    r"|^\W*(?:finally, |lastly, |additionally, |also, )?we will (?:also )?(?:provide|look at|discuss|explore|examine|"
    r"cover|describe|present|outline|highlight|mention|include|encourage|use more)\b"
    r"|^\W*(?:next,? |then,? |also,? )?i(?:'ll| will) (?:also )?include\b", re.IGNORECASE)
# "The piece": the prompts' own word for the document. Outside a story, and where the instruction does not use it, a
# sentence about "the piece" is about the text ("Next, the piece moves on to the parent and partner's future", "The
# piece is a soon-to-be-married individual ..."); the plan repair drops a main point about it. "A piece of land" is matter.
OUR_PIECE = re.compile(r"\b(?:the|this|our) piece(?! of\b)\b|\b(?:the|this|our) piece of (?:research|writing|work|"
                        r"text|content)\b", re.IGNORECASE)  # "The piece of research aims to evaluate ..."

_CODE = re.compile(r"^\s*(?:```|~~~|def \w+\(|class \w+[:(]|import \w+|from \w+ import|#include|public static|"
                   r"function \w+\(|(?:var|let|const) \w+ =|print\(|console\.log|SELECT .+ FROM )")
_MATHS = re.compile(r"\b[a-z]\([a-z]\)\s*=|\\frac|\\int|\b\d+[a-z]\^\d|\bx\^\d|\bderivative\b|\bintegral of\b|"
                    r"\bsolve for [a-z]\b|\bpower rule\b", re.IGNORECASE)
_TASK = re.compile(r"^\W*(?:compute|calculate|solve|evaluate|translate|find the|prove that|simplify|"
                   r"question\s*:|answer\s*:|q\s*:|exercise\b|problem\s*\d*\s*:|instruction\s*:|input\s*:|output\s*:|"
                   r"human\s*:|user\s*:|assistant\s*:|system\s*:|write (?:a|an) (?:program|function|python|code|"
                   r"script|sql))", re.IGNORECASE)

# The scaffolding of our own prompts: a line holding one of these is an echo wherever it is.
_SCAFFOLD = re.compile(
    r"\(about \d+ words\)|\babout \d+ words\b\s*[):]|\bnow write section\b|\bthe text so far ends\b|"
    r"\boutline of the whole text\b|<- (?:this|you write)|\bcontinue the text\b|\bdo not repeat it\b|"
    r"\bthe piece is written in \d+\b|\b(?:is|be) written in \d+ sections\b|\bsections, one at a time\b|"
    r"\bnow,? we have section \d+\b|\bwrite section \d+\b|earlier text omitted|"
    r"\ban earlier attempt at this was rejected\b|\bdo better this time\b|\blonger,? more detailed version\b|"
    r"\bwhat (?:it|you) (?:already says|wrote above)\b|\bcomes? after this one\b|\bthe reader has just read section\b|"
    r"\bthis is the last section\s*:|\bbring the piece to a close\b|\bmore sections follow\b|"
    r"\bwith no remarks about it\b|"
    r"\bdo not introduce the subject again\b|\bgive only the text of this section\b|\bno remarks about the text\b|"
    r"\bgo on from where the text so far ends\b|\bdo not start the story again\b|\bwith the same narrator, characters\b|"
    r"\bdo not end the story\b|\bbring the story to its end\b",
    re.IGNORECASE)
_WORD_COUNT = re.compile(r"\b(\d{1,3}(?:,\d{3})+|\d+)[- ]words?\b", re.IGNORECASE)
_NUMBERED = re.compile(r"^\s*\d{1,2}[.)]\s+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,2}[.)])\s+")

# A story set up again: a new place and someone new in it, as a story's first sentence does
_SCENE_OPENING = re.compile(
    r"^\W*(?:once upon a time|long,? long ago|there once (?:lived|was|were)|in a (?:land|kingdom|galaxy) far,? far away"
    r"|in (?:the (?:heart|middle|depths|shadow) of )?(?:a|an|the) (?:[\w'-]+ ){0,4}(?:town|village|city|kingdom|land|"
    r"forest|woods|valley|mountains?|hills?|house|mansion|castle|world|country|island|realm|desert|jungle|galaxy|"
    r"planet)\b[^.;!?]{0,140}?,\s*there (?:once )?(?:lived|was|were|stood) (?:a|an)\b"
    r"|in [^,.;!?]{1,60},\s*there (?:once )?lived (?:a|an)\b)", re.IGNORECASE)  # "In ancient Egypt, there lived a"
OPENING_WORDS = 6  # a later section opening with the same six words as an earlier paragraph is starting over
_PRAISE = (r"fascinating|unique|powerful|beautiful|vibrant|bustling|remarkable|iconic|transformative|popular|"
           r"important|complex|incredible|amazing|wonderful|rich|diverse|dynamic|profound|crucial|essential|"
           r"fundamental|significant|vital|fantastic|magnificent|famous|renowned|well-known|intriguing|captivating|"
           r"versatile|valuable|beloved|majestic|stunning")
_PRAISING_DEFINITION = re.compile(
    rf"^\W*(?P<subject>(?:[\w'’-]+ ){{0,4}}[\w'’-]+)(?:, [^,.]{{1,60}},)? (?:is|are|has been|have been) "
    rf"(?:a|an|one of the)? ?(?:(?:truly|highly|very|incredibly|particularly|most) )?(?:[\w-]+ and )?(?:{_PRAISE})\b",
    re.IGNORECASE)  # "The history of public libraries has been a long and fascinating story"
# The subject placed on the map again: "Hong Kong is an island located in Southeast Asia, bordered by ..."
_LOCATING_DEFINITION = re.compile(
    r"^\W*(?P<subject>(?:[\w'’-]+ ){0,4}[\w'’-]+)(?:, [^,.]{1,60},)? (?:is|are) (?:a|an|the) (?:[\w'-]+ ){0,3}"
    r"(?:located|situated|nestled|lying|found) (?:in|on|at|along|off)\b", re.IGNORECASE)
# The reader welcomed to the subject, as an opening does: "Welcome to Hong Kong, a bustling metropolis ..." (a
# character's welcome is in quotes)
_WELCOME = re.compile(r"^(?![\"“'‘])\W*welcome to (?:the )?(?P<subject>[^,.;!?]{1,60})", re.IGNORECASE)
_GENERIC_OPENING = re.compile(
    r"\b(?:has|have) (?:long )?been (?:a |an )?(?:cornerstone|part|integral|essential|vital|central|important|"
    r"key|significant|crucial)|\bsince (?:ancient|the dawn|time immemorial|the beginning)|\bthroughout (?:history|the ages)|"
    r"\bin today'?s (?:world|society|fast)|\bfor (?:centuries|millennia|generations),|\bdat(?:e|es|ing) back (?:to|thousands|centuries)|"
    r"\b(?:has|have) (?:a |an )?(?:long |rich |storied |fascinating )?history (?:of|that|dating|spanning)|"
    r"\bplays? an? (?:crucial|vital|important|key|significant) role|\bis (?:a|an) (?:fascinating|complex|important) "
    r"(?:topic|subject)", re.IGNORECASE)


# Headings: the document gives each section its own. vLLM bans bad words as tokens wherever they occur, so
# these also keep '#' out of the prose ("C#", "#1"); a document of one section (a post, a poem) is not limited.
HEADING_MARKS = ["#", "##", "###", "####"]
# "Section 3: ...", "Part 2", "Chapter 1": labels of a document inside a section ("section" in prose is lower case)
LABEL_WORDS = ["Section", "Chapter"] + [f"Part {n}" for n in range(1, 10)]
CONCLUSION_OPENERS = ["In conclusion", "To conclude", "In summary", "To summarize", "To summarise", "To sum up",
                      "In closing", "All in all"]
MAX_BANNED_TITLES = 6  # vLLM allows 128 banned token sequences; each phrase takes one or two


REPEAT_MIN_WORDS = 6  # shorter sentences ("It was late.") may recur in any text
REPEAT_SHARE = 0.6  # a sentence with this share of its 6-grams already written is a repeat
REPEAT_HERE_MIN_WORDS = 10  # within one section, only longer sentences: short parallel ones are style
PHRASE_TWICE_WORDS = 6  # six words said twice in one sentence is a loop (Dickens repeats five: "of times, it was the")
LEAD_WORDS, LEAD_MIN_WORDS = 5, 8  # a third sentence of 8+ words opening on the same 5 words is a template loop
# Words that join a sentence to the one before and are not its own opening: "Moreover, we need to provide more ..."
# opens as "We need to provide more ..." does.
CONNECTIVES = frozenset("moreover furthermore additionally also finally lastly then however besides similarly "
                        "likewise firstly secondly thirdly first second third next and but so".split())
ECHO_SHARE = 0.7  # a paragraph with this share of its 5-grams in the prompt is a copy of it


@dataclass(frozen=True)
class Place:
    """Where a section sits in its document, and what it was written from."""

    index: int = 0
    count: int = 1
    title: str = ""
    other_titles: tuple[str, ...] = ()
    prompt: str = ""  # the texts of the prompt the section answered (for echoes)
    previous_title: str = ""  # the section before's title (a section that opens on it restarts that section)
    previous_point: str = ""  # the main point of the section before, which the prompt shows (copied, an echo)
    instruction: str = ""  # what the document is about (for restarts and off-task text)

    @property
    def first(self) -> bool:
        return self.index == 0

    @property
    def last(self) -> bool:
        return self.index >= self.count - 1


def banned_words(place: Place) -> list[str]:
    """What the engine may not write in the section at `place`: a heading, a section label, the titles of the
    sections around it (a model that writes one has started writing that section), and before the last
    section the phrases that open a conclusion. Cheaper than cutting: what is banned is never written, so
    the draft keeps its length."""
    if place.count <= 1:
        return []
    # three words or more: a two-word title is often a name ("Andrew Carnegie") that later prose needs
    titles = [t for t in place.other_titles if len(t.split()) >= 3][:MAX_BANNED_TITLES]
    return HEADING_MARKS + LABEL_WORDS + titles + ([] if place.last else CONCLUSION_OPENERS)


@dataclass(frozen=True)
class Finding:
    """One defect: its kind, where it is in the text, and how it is cut."""

    kind: str
    start: int
    end: int
    text: str
    to_end: bool = False  # cutting it cuts the rest of the section too
    cuttable: bool = True


@dataclass
class Cleaned:
    """A text with its cuttable defects removed: the counts found, and what is left in it."""

    text: str
    found: Counter = field(default_factory=Counter)
    left: list[Finding] = field(default_factory=list)

    @property
    def left_counts(self) -> Counter:
        return Counter(f.kind for f in self.left)


def _grams(words: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]


@dataclass(frozen=True)
class _Block:
    """A paragraph: consecutive non-blank lines, with offsets into the text."""

    start: int
    end: int
    lines: tuple[tuple[int, int], ...]  # (start, end) of each line, without its newline

    def text(self, source: str) -> str:
        return source[self.start:self.end]


def blocks(text: str) -> list[_Block]:
    out, lines, pos = [], [], 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        if body.strip():
            lines.append((pos, pos + len(body)))
        elif lines:
            out.append(_Block(lines[0][0], lines[-1][1], tuple(lines)))
            lines = []
        pos += len(raw)
    if lines:
        out.append(_Block(lines[0][0], lines[-1][1], tuple(lines)))
    return out


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences of text[start:end], as (start, end) offsets that never cross a line break."""
    spans = []
    for m in _SENTENCE.finditer(text, start, end):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        if e > s:
            spans.append((s, e))
    return spans


def _norm_title(text: str) -> str:
    return " ".join(tokens(text))


# A lead-in line over a list: "Key points of postoperative care include:"
_LEAD_IN = re.compile(r"^[*_\s]*(.+?)[*_\s]*(?:\s(?:include|includes|are|is|involve|involves))?[*_\s]*:\s*$",
                      re.IGNORECASE)


def heading_kind(line: str, place: Place) -> str | None:
    """"label" for a heading or title line that names another planned section (the model has started writing
    it), "heading" for any other heading, title or "Section 3" line, None for prose."""
    stripped = line.strip()
    if not stripped:
        return None
    bare = re.sub(r"^\s*#+\s*", "", stripped)
    norm = _norm_title(bare)
    labelled = _LABEL_LINE.match(bare) and len(stripped.split()) <= 16
    shaped = (labelled or _MARKDOWN_HEADING.match(stripped) or _BOLD_LINE.match(stripped)
              or _TITLE_LINE.match(stripped) or _MARKER_LINE.match(stripped))
    others = [_norm_title(t) for t in place.other_titles if _norm_title(t)]
    if norm and (norm in others or (shaped and any(f" {t} " in f" {norm} " for t in others))):
        return "label"
    lead_in = _LEAD_IN.match(bare)
    if lead_in and _norm_title(lead_in.group(1)) in others:
        return "label"  # "Key points of postoperative care include:" over a list: that section's matter begins
    if shaped:
        return "heading"
    if norm and place.title and norm == _norm_title(place.title):
        return "heading"
    return None


def _title_shaped(line: str) -> bool:
    """A short line with no closing punctuation, most of whose words are capitalised: "The Carnegie Era"; or a
    longer one in two parts, nearly every word capitalised: "Walking in Spirit in Relationships: Building
    Stronger and More Fulfilling Relationships with Others"."""
    stripped = line.strip().strip("*_")
    parts = stripped.split()
    if not 1 <= len(parts) <= 16 or stripped[-1:] in _END_PUNCT or stripped[:1] in "-*+>|0123456789":
        return False
    caps = sum(t[:1].isupper() for t in parts if t.lower() not in STOPWORDS)
    significant = sum(t.lower() not in STOPWORDS for t in parts)
    if len(parts) > 10:
        return ": " in stripped and caps * 4 >= significant * 3
    return significant > 0 and caps >= max(1, (significant + 1) // 2)


PART_NAMES = frozenset("introduction conclusion summary overview background body ending epilogue prologue "
                       "abstract".split())


def _label_shaped(line: str, place: Place) -> bool:
    """A line of its own such as "Introduction:" or "Panda:": a label over the text that names a part of a
    document or the document's subject. A lead-in to a list that says something ("The steps are:") is prose."""
    stripped = line.strip().strip("*_").strip()
    words = tokens(stripped)
    if not stripped.endswith(":") or not 1 <= len(words) <= 4:
        return False
    known = PART_NAMES | {stem(w) for w in content_words(place.instruction + " " + place.title)}
    named = [w for w in words if w not in STOPWORDS]
    return bool(named) and all(w in known or stem(w) in known for w in named)


def _is_chatter(text: str, sentences: int) -> bool:
    """A paragraph that is a remark: a lead-in or a sign-off, or one or two sentences about the text."""
    n = len(text.split())
    if n <= 30 and _CHATTER_LEAD.match(text):
        return True
    if n <= 80 and (_CHATTER_TRAIL.match(text) or _REFUSAL.match(text)):  # a sign-off or a refusal
        return True
    if n <= 60 and sentences <= 2 and bool(_META.search(text)):
        return True
    parts = [p for p in re.split(r"(?<=[.!?])\s+", text) if p.strip()]  # a paragraph that mostly describes the piece
    meta = sum(bool(_META.search(p)) for p in parts)
    continued = sum(bool(_META_CONTINUED.match(p)) and not _META.search(p) for p in parts)
    return len(parts) >= 2 and meta >= 1 and (meta + continued) * 2 >= len(parts)


def _prompt_share(text: str, prompt_grams: set) -> float:
    grams = _grams(tokens(text), 5)
    return sum(g in prompt_grams for g in grams) / len(grams) if grams else 0.0


_TECHNICAL = re.compile(r"\b(?:code|coding|program(?:ming|s)?|software|developer|api|sql|python|java(?:script)?|"
                        r"typescript|c\+\+|c#|rust|golang|spring|django|react|algorithm|script|function|class|"
                        r"database|linux|shell|implement(?:ing|ation)?|tutorial|stack (?:exchange|overflow))\b",
                        re.IGNORECASE)
_PLACEHOLDER_LINE = re.compile(r"^\s*[-*]?\s*\[[^\]\n]{1,60}\]\s*[,.]?\s*$")


def _off_task(text: str, place: Place, topic: set[str]) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    first_line = lines[0] if lines else ""
    if _CODE.match(first_line) or sum(bool(_CODE.match(line)) for line in lines) >= 2:
        return not _TECHNICAL.search(place.instruction)  # code in a piece about programming is its content
    if len(lines) >= 3 and sum(bool(_PLACEHOLDER_LINE.match(line)) for line in lines) >= 0.6 * len(lines):
        return True  # a run of template blanks: "[Your Name]", "[Your Contact Information]", ...
    about = set(content_words(text))
    overlap = len(about & topic) / len(about) if about else 1.0
    if _MATHS.search(text) and not _MATHS.search(place.instruction) and overlap < 0.3:
        return True
    return bool(_TASK.match(text)) and overlap < 0.2


def find_defects(text: str, place: Place | None = None, earlier: str = "") -> list[Finding]:
    """Every defect in `text`, a section at `place` of its document; `earlier` is the text before the section."""
    place = place or Place()
    found: list[Finding] = []
    paragraphs = blocks(text)
    prompt_grams = set(_grams(tokens(place.prompt), 5)) if place.prompt else set()
    topic = set(content_words(place.instruction + " " + place.title + " " + " ".join(place.other_titles)))
    topic |= set(content_words(text))  # the section's own vocabulary, minus the paragraph being judged below
    earlier_sentences = {tuple(tokens(earlier[s:e])) for b in blocks(earlier)
                         for s, e in sentence_spans(earlier, b.start, b.end)}
    earlier_grams = set(_grams(tokens(earlier), 6))
    previous_grams = set(_grams(tokens(place.previous_point), 5))
    own_grams: set = set()  # the 6-grams of this section's sentences so far, to find one said twice
    leads: Counter = Counter()  # the first words of this section's sentences so far, to find a template loop
    # a later section that copies the instruction is announcing the document again ("Here's a detailed description
    # of dinosaurs, including ...")
    asked_grams = set(_grams(tokens(place.instruction), 5)) if not place.first else set()
    asked_lengths = {m.group(1).replace(",", "") for m in _WORD_COUNT.finditer(place.instruction)}
    first_prose = True
    concluded = None  # in the last section: (whether "In conclusion"-like, paragraph) of its first close
    signs_off = bool(_CORRESPONDENCE.search(place.instruction))  # a letter's close is its text, not a reply
    ours = not narrative(place.instruction) and not re.search(r"\bpieces?\b", place.instruction, re.IGNORECASE)
    for k, block in enumerate(paragraphs):
        body = block.text(text)
        # heading lines, anywhere in the paragraph
        heading_lines = []
        for ls, le in block.lines:
            kind = heading_kind(text[ls:le], place)
            line = text[ls:le]
            shaped = kind is None and len(block.lines) == 1 and len(paragraphs) > 1 and (
                _title_shaped(line) or _label_shaped(line, place)
                # "3. Training Session" alone, over a paragraph: a numbered heading, not a list item
                or (_NUMBERED.match(line) is not None and _title_shaped(_NUMBERED.sub("", line))
                    and k + 1 < len(paragraphs) and len(paragraphs[k + 1].text(text).split()) > 20))
            if kind or shaped:
                heading_lines.append((ls, le, kind or "heading"))
        for ls, le, kind in heading_lines:
            to_end = kind == "label" and not first_prose
            found.append(Finding("heading", ls, le, text[ls:le], to_end=to_end))
            if to_end:
                return found
        if len(heading_lines) == len(block.lines):
            continue
        prose = body if not heading_lines else "\n".join(
            text[ls:le] for ls, le in block.lines if all(ls != h[0] for h in heading_lines))
        # the model went off: everything from here on is not this section
        own = set(content_words(prose))
        if _off_task(prose, place, (topic - own) | set(content_words(place.instruction + " " + place.title))):
            found.append(Finding("off_task", block.start, len(text), text[block.start:], to_end=True))
            return found
        # a line that ends in a colon and copies our prompt ("Write a 10000-word handbook for ...:")
        for ls, le in block.lines:
            line = text[ls:le].strip()
            if (prompt_grams and line.endswith(":") and len(block.lines) > 1 and all(ls != h[0] for h in heading_lines)
                    and _prompt_share(line, prompt_grams) >= ECHO_SHARE):
                found.append(Finding("echo", ls, le, text[ls:le]))
                heading_lines.append((ls, le, "echo"))
        if not place.last and not _CONCLUSION.match(prose):  # "- **Conclusion**: The process ...": in a list
            for ls, le in block.lines:
                if (_LIST_ITEM.match(text[ls:le]) and _CONCLUSION.match(text[ls:le])
                        and all(ls != h[0] for h in heading_lines)):
                    found.append(Finding("conclusion", ls, le, text[ls:le]))
                    heading_lines.append((ls, le, "conclusion"))
        spans = [sp for ls, le in block.lines if all(ls != h[0] for h in heading_lines)
                 for sp in sentence_spans(text, ls, le)]
        scaffold = [(a, b) for a, b in spans if _SCAFFOLD.search(text[a:b])]
        if scaffold and len(scaffold) < len(spans):  # our prompt's wording inside prose: those sentences go
            found += [Finding("echo", a, b, text[a:b]) for a, b in scaffold]
            spans = [sp for sp in spans if sp not in scaffold]
        elif scaffold or (prompt_grams and len(prose.split()) <= 120
                          and _prompt_share(prose, prompt_grams) >= ECHO_SHARE):
            found.append(Finding("echo", block.start, block.end, body))
            continue
        questions = [text[a:b].rstrip().endswith("?") for a, b in spans]
        if (k == len(paragraphs) - 1 and k > 0 and len(spans) >= 2 and all(questions)
                and not re.search(r"[\"“”]", prose) and len(prose.split()) <= 60):
            # questions at the very end, after the section's prose: the model asking itself a new task
            found.append(Finding("off_task", block.start, len(text), text[block.start:], to_end=True))
            return found
        if _is_chatter(prose, len(spans)):
            found.append(Finding("chatter", block.start, block.end, body))
            continue
        if not place.last and (_CONCLUSION.match(prose) or _STORY_END.search(prose)
                               or (k == len(paragraphs) - 1 and k > 0 and _CLOSING_LAST.match(prose))):
            found.append(Finding("conclusion", block.start, block.end, body))
            continue
        if place.last and (_CONCLUSION.match(prose) or _SUMMING_UP.match(prose)):
            # "In conclusion, ..." and then "In summary, ...", or "Overall, ..." and then "In conclusion, ...": the
            # piece closed twice. An "Overall, ..." paragraph further back is a summing-up, not a close.
            if concluded is not None and (concluded[0] or concluded[1] == k - 1):
                found.append(Finding("conclusion", block.start, block.end, body))
                continue
            concluded = (bool(_CONCLUSION.match(prose)), k)
        for n, (s, e) in enumerate(spans):
            sentence = text[s:e]
            previous_cut = n > 0 and found and (found[-1].start, found[-1].end) == spans[n - 1]
            if (previous_cut or (n == 0 and first_prose)) and _META_CONTINUED.match(sentence):
                # "It also explores ..." left at the section's start, or after a sentence about the piece was cut
                found.append(Finding("chatter", s, e, sentence))
                continue
            if n > 0 and not signs_off and _SIGN_OFF.match(sentence):  # the model's reply from here to the paragraph's end
                found.append(Finding("chatter", s, block.end, text[s:block.end]))
                break
            if ours and OUR_PIECE.search(sentence) and len(spans) > 1:
                found.append(Finding("chatter", s, e, sentence))
                continue
            if _META.search(sentence) and len(spans) > 1:  # the piece describing itself, wherever it does
                found.append(Finding("chatter", s, e, sentence))
                continue
            if asked_lengths and any(m.group(1).replace(",", "") in asked_lengths for m in _WORD_COUNT.finditer(sentence)):
                # the instruction's length, said in the text: "The Hong Kong Travel Guide, approximately 3000 words, ..."
                found.append(Finding("echo", s, e, sentence))
                continue
            said = tokens(sentence)
            if asked_grams and len(said) >= REPEAT_HERE_MIN_WORDS and _prompt_share(sentence, asked_grams) >= ECHO_SHARE:
                found.append(Finding("echo", s, e, sentence))
                continue
            if previous_grams and len(said) >= REPEAT_MIN_WORDS and _prompt_share(sentence, previous_grams) >= 0.6:
                # the previous section's main point, copied from the prompt: that section's matter, said again
                found.append(Finding("echo", s, e, sentence))
                continue
            grams = _grams(said, 6)
            if len(said) >= REPEAT_MIN_WORDS and earlier:
                copied = sum(g in earlier_grams for g in grams) / len(grams)
                if tuple(said) in earlier_sentences or copied >= REPEAT_SHARE:
                    found.append(Finding("repeated", s, e, sentence))
                    continue
            if len(said) >= LEAD_MIN_WORDS:
                lead = tuple(_without_connective(said)[:LEAD_WORDS])
                leads[lead] += 1
                if leads[lead] > 2:
                    # "The library also had a library of ..." a third time: a template the model fills in a loop
                    found.append(Finding("repeated", s, e, sentence))
                    continue
            if len(said) >= REPEAT_HERE_MIN_WORDS and _phrase_twice(said):
                # "She went to see her family again and went to see her family again.": a loop inside one sentence
                found.append(Finding("repeated", s, e, sentence))
                continue
            if len(said) >= REPEAT_HERE_MIN_WORDS and sum(g in own_grams for g in grams) >= REPEAT_SHARE * len(grams):
                # said again a sentence or two later with a word changed: a loop the loop cut does not see
                found.append(Finding("repeated", s, e, sentence))
                continue
            own_grams.update(grams)
            restart = first_prose and n == 0 and not place.first and _restart(sentence, place, earlier)
            if restart:
                # a story set up again is re-run: the paragraphs after its opening go on from the new set-up
                whole = len(spans) == 1
                found.append(Finding("restart", block.start if whole else s, block.end if whole else e, sentence,
                                     cuttable=restart != "scene" and (not whole or k < len(paragraphs) - 1)))
        first_prose = False
    return found


def _without_connective(said: Sequence[str]) -> Sequence[str]:
    """A sentence's words without the connective it opens on ("Moreover", "In addition")."""
    if len(said) > 2 and said[0] == "in" and said[1] == "addition":
        return said[2:]
    return said[1:] if said and said[0] in CONNECTIVES else said


def _phrase_twice(said: Sequence[str], n: int = PHRASE_TWICE_WORDS) -> bool:
    """Whether a run of `n` words comes back, not overlapping itself, within one sentence."""
    first: dict[tuple[str, ...], int] = {}
    for i, gram in enumerate(_grams(said, n)):
        j = first.setdefault(gram, i)
        if i - j >= n:
            return True
    return False


def _openings(text: str) -> list[str]:
    """The first sentence of each paragraph of `text`."""
    return [text[s:e] for b in blocks(text) for s, e in sentence_spans(text, b.start, b.end)[:1]]


def _restart(sentence: str, place: Place, earlier: str) -> str | None:
    """How the opening sentence of a later section starts the document over, if it does: "scene" for a story set
    up again ("In a small town nestled in the hills, there lived ..."), "topic" for an article's subject
    introduced again ("Hong Kong is a vibrant city ...", "Pandas have long been ..."), None when it goes on."""
    story = narrative(place.instruction)
    if story and _SCENE_OPENING.match(sentence):
        return "scene"
    openings = _openings(earlier)
    lead = tokens(sentence)[:OPENING_WORDS]
    if (len(lead) == OPENING_WORDS and sum(w not in STOPWORDS for w in lead) >= 2
            and any(tokens(o)[:OPENING_WORDS] == lead for o in openings)):
        return "scene" if story else "topic"  # worded as an earlier paragraph opened: "In the heart of the forest"
    if _opens_on_previous(sentence, place) or _redefines(sentence, place, openings[:1]):
        return "topic"
    if not _GENERIC_OPENING.search(sentence):
        return None
    mine = set(content_words(sentence))
    if not mine:
        return None
    subject = set(content_words(place.instruction))
    first = set(content_words(openings[0])) if openings else set()
    return "topic" if len(mine & subject) >= 1 or len(mine & first) / len(mine) >= 0.4 else None


def _redefines(sentence: str, place: Place, first_opening: list[str]) -> bool:
    """Whether a sentence defines the document's subject again, in praise or on the map, or welcomes the reader to
    it: "Walking in spirit is a powerful tool ...", "Hong Kong, a city in China, is a fascinating place ...",
    "Hong Kong is an island located in ...", "Welcome to Hong Kong, ...". Its subject (before the verb, an apposition
    left out) must be words of the instruction or of the document's first sentence."""
    m = _PRAISING_DEFINITION.match(sentence) or _LOCATING_DEFINITION.match(sentence) or _WELCOME.match(sentence)
    if m is None:
        return False
    said = {stem(w) for w in content_words(m.group("subject"))}
    known = {stem(w) for w in content_words(place.instruction + " " + " ".join(first_opening))}
    return bool(said) and said <= known


def _opens_on_previous(sentence: str, place: Place) -> bool:
    """Whether a section's opening sentence has the section before as its subject ("The rise of public libraries
    was ..." opening "The Modern Era of Public Libraries"): it goes back over what the reader has just read. The
    opening has to lead with the previous title's own words and say none of this section's own."""
    previous, own = set(content_words(place.previous_title)), set(content_words(place.title))
    theirs, mine = previous - own, own - previous
    if not theirs:
        return False
    lead = set(content_words(" ".join(tokens(sentence)[:len(tokens(place.previous_title)) + 2])))
    return theirs <= lead and not mine & set(content_words(sentence))


_LINE_LEAD = re.compile(r"[ \t]*(?:[-*+>]|\d+[.)])?[ \t]*")


def _whole_line(text: str, s: int, e: int) -> tuple[int, int]:
    """(s, e) widened to its whole line, newline included, when nothing but a list marker would be left of it."""
    line_start = text.rfind("\n", 0, s) + 1
    line_end = text.find("\n", e)
    line_end = len(text) if line_end < 0 else line_end
    if _LINE_LEAD.fullmatch(text[line_start:s]) and not text[e:line_end].strip():
        return line_start, min(len(text), line_end + 1)
    return s, e


def cut_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` without `spans`, blank lines collapsed, each remaining line as it was (a line emptied by a cut goes
    with its list marker, so a list stays a list)."""
    keep, pos = [], 0
    for s, e in sorted(_whole_line(text, s, e) for s, e in spans):
        if s < pos:
            s = pos
        if e <= s:
            continue
        keep.append(text[pos:s])
        pos = e
        while pos < len(text) and text[pos] in " \t":
            pos += 1
    keep.append(text[pos:])
    out = "".join(keep)
    out = re.sub(r"[ \t]+\n", "\n", out)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip()


_CJK_CHARS = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\uffef\u3040-\u30ff\uac00-\ud7af"
_STRAY_CJK = re.compile(rf"(?<=[^{_CJK_CHARS}])[{_CJK_CHARS}]{{1,2}}(?=[^{_CJK_CHARS}]|$)")


def drop_stray_script(text: str, instruction: str = "") -> str:
    """`text` without the lone CJK characters a small multilingual model drops into English prose
    ("the movement,隆 and erosion"), when the instruction itself has none (a Chinese instruction keeps all)."""
    if not instruction or re.search(f"[{_CJK_CHARS}]", instruction):
        return text
    return _STRAY_CJK.sub("", text)


_BACK_REFERENCE = re.compile(r"(?:It|Its|This|That|These|Those|They|Their|He|His|She|Her)\b")


def _first_sentence(text: str) -> tuple[int, int] | None:
    first = blocks(text)[:1]
    spans = sentence_spans(text, *first[0].lines[0]) if first else []
    return spans[0] if spans else None


def _without_dangling_start(before: str, after: str) -> str:
    """`after` (what cutting left of `before`) without its first sentence when the cut took the sentence that
    opened `before` and the one now first points back at it ("It was designed ..." after "The Library of
    Congress opened in 1800." was cut as a repeat): a section must not open on a reference to nothing."""
    old, new = _first_sentence(before), _first_sentence(after)
    if old is None or new is None or after[new[0]:new[1]] == before[old[0]:old[1]]:
        return after
    sentence = after[new[0]:new[1]]
    if not _BACK_REFERENCE.match(sentence) or len(sentence) == len(after.strip()):
        return after
    if sentence not in blocks(before)[0].text(before):  # it opened a paragraph of its own (after a cut heading)
        return after
    return cut_spans(after, [new])


def remove_defects(text: str, place: Place | None = None, earlier: str = "") -> Cleaned:
    """`text` with every defect that can be cut cleanly removed. Cutting may expose another (a title line under
    a remark), so it runs until nothing more is found. Stray characters of another script (and U+FFFD) go first, and
    paragraphs the model separated by a single line break are made paragraphs (`separate_paragraphs`)."""
    found: Counter = Counter()
    text = separate_paragraphs(text)
    text = text.replace("\ufffd", "")  # bytes that decode to no character: an emoji cut between its tokens
    if place is not None:
        text = drop_stray_script(text, place.instruction)
    for _ in range(4):
        text = capitalise_start(text)
        findings = find_defects(text, place, earlier)
        cuttable = [f for f in findings if f.cuttable]
        if not cuttable:
            return Cleaned(text=text, found=found + Counter(f.kind for f in findings), left=findings)
        found.update(f.kind for f in cuttable)
        text = renumber_lists(_without_dangling_start(text, cut_spans(
            text, [(f.start, len(text) if f.to_end else f.end) for f in cuttable])))  # no "3. 5." after a cut item
    findings = find_defects(text, place, earlier)
    return Cleaned(text=text, found=found + Counter(f.kind for f in findings), left=findings)


_LOWER_START = re.compile(r"^(\s*)([a-z])(?=[a-z]*[\s,.;:!?])")


def capitalise_start(text: str) -> str:
    """`text` with its first word capitalised when it is a plain lower-case word: the 0.5B began a section
    " refugees in Sudan ...", and a cut can leave a section starting mid-sentence-case. A word with capitals or
    digits in it ("iPhone", "x2") stays as it is."""
    return _LOWER_START.sub(lambda m: m.group(1) + m.group(2).upper(), text, count=1)


def feedback(left: Sequence[Finding]) -> str:
    """What a re-run must avoid, written for the model."""
    kinds = list(dict.fromkeys(f.kind for f in left))
    return "; ".join(f"it contained {LABELS[k]} (\"{_excerpt(next(f for f in left if f.kind == k).text)}\")"
                     for k in kinds)


def _excerpt(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def count_document(text: str, titles: Sequence[str] = (), instruction: str = "") -> Counter:
    """Defects of a whole document: split at its "## " headings (the sections the plan gave it), each section
    checked against the text before it. What the `rules` judge reports, so exports can filter on it."""
    heads = list(re.finditer(r"^## .*$", text, re.MULTILINE))
    bodies = [(m.group(0)[3:].strip(), text[m.end():heads[i + 1].start() if i + 1 < len(heads) else len(text)])
              for i, m in enumerate(heads)]
    if heads and text[:heads[0].start()].strip():
        bodies.insert(0, ("", text[:heads[0].start()]))
    if not heads:
        bodies = [("", text)]
    titles = tuple(titles) or tuple(t for t, _ in bodies if t)
    counts: Counter = Counter()
    earlier = ""
    for k, (title, body) in enumerate(bodies):
        place = Place(index=k, count=len(bodies), title=title, other_titles=tuple(t for t in titles if t != title),
                      instruction=instruction)
        counts.update(f.kind for f in find_defects(body.strip(), place, earlier))
        earlier += "\n\n" + body
    return counts


def clean(texts: list[str], place: Place, earlier: str = "") -> tuple[list[str], list[Counter]]:
    """Each draft with its cuttable defects removed, and the defects found in each."""
    results = [remove_defects(t, place, earlier) for t in texts]
    return [r.text for r in results], [r.found for r in results]
