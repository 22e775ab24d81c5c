"""The cue tables: what each cue looks like, how much it weighs, and why a handler should care.

Pure data, no spaCy: linguists can tune weights and phrasings here without reading component code.
Patterns are written in a small notation over spaCy tokens, matched on each token's NORM (lower
case, contractions expanded: "won't" -> "will not", "gonna" -> "going to", "I'm" -> "I am"):

    word          one token whose NORM is `word`
    a|b|{SET}     one token whose NORM is any of these words or in WORD_SETS["SET"]
    <name>        one token whose NORM matches the regular expression TOKEN_SPECS["name"]
    slot? slot* slot+   optional / any number / one or more of that slot

`patterns.py` compiles them (see there for why regular expressions and not spaCy's Matcher).

Offsets always come from spaCy tokens, so a cue's text is exactly the customer's own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline.schema import CueLabel


@dataclass(frozen=True)
class CueRule:
    """One way a cue is phrased.

    `negatable`: a negator or hypothetical just before the match cancels it ("I'm not cancelling").
    `clause_final`: fires only when nothing but punctuation, an emoji, a handle or the end follows
    ("I'm cancelling!" but not "I'm cancelling my order").
    `not_after`: NORMs that make the match innocent when they come right before it ("twice a week").
    `not_before`: NORMs that make it innocent when they come right after it ("ten times better").
    `needs_negative_context`: only fires near a complaint signal; how sarcasm is told from praise.
    `extend_left`: NORMs just before the match that belong to it ("for the past" 3 days), taken in
    after matching (up to EXTEND_LEFT_MAX) so that patterns need not try them at every token.
    """

    label: CueLabel
    name: str
    weight: float
    explanation: str
    patterns: tuple[str, ...]
    negatable: bool = True
    clause_final: bool = False
    not_after: frozenset[str] = frozenset()
    not_before: frozenset[str] = frozenset()
    needs_negative_context: bool = False
    extend_left: frozenset[str] = frozenset()


def word_set(text: str) -> frozenset[str]:
    """A word set written as one space-separated string: easier to read and edit than quoted items."""
    return frozenset(text.split())


def _rule(
    label: CueLabel, name: str, weight: float, explanation: str, *patterns: str, **flags: Any
) -> CueRule:
    """CueRule with the patterns as positional arguments; word-set flags as "word word" strings."""
    for key in ("not_after", "not_before", "extend_left"):
        if isinstance(flags.get(key), str):
            flags[key] = word_set(flags[key])
    return CueRule(label, name, weight, explanation, patterns, **flags)


# --------------------------------------------------------------------------------------------
# Scope of negation and hypotheticals (used by negation.py for every negatable cue)
# --------------------------------------------------------------------------------------------

#: NORMs that negate what follows them in the same clause. "n't"/"nt"/"cannot" all NORM to "not".
NEGATORS = word_set("hardly neither never no nobody none noone nor not nothing without")

#: Words and punctuation that end a clause: a negator before them does not reach past them.
CLAUSE_BREAKS = word_set(
    "! ( ) , - . ... / : ; ? although and because but cause cos coz cuz however so then though – — …"
)

#: Verbs that open a new embedded wish: "they won't let me cancel" still wants to cancel.
SCOPE_OPENERS = frozenset({"let", "letting", "allow", "allowing", "allowed", "able"})

#: Modals whose negation is inability, not refusal: "I can't cancel my account online" still wants to.
INABILITY_MODALS = frozenset({"can", "could"})

#: After a negator these mark a question by inversion ("why won't you let me..."), not a denial.
SUBJECT_PRONOUNS = frozenset({"i", "you", "u", "we", "they", "he", "she", "it"})

#: A new subject starts a new clause: in "if this isn't fixed I'm cancelling" the "n't" stays in the
#: if-clause. Only unambiguous subject forms ("you" and "it" are objects too).
CLAUSE_SUBJECTS = frozenset({"i", "we", "they", "he", "she"})

#: ...unless the clause before is a negated opinion that carries over: "I don't think I'll cancel".
NEGATION_RAISERS = word_set("believe expect guess imagine intend mean need plan reckon suppose think want")

#: Token sequences that put what follows in a hypothetical: "if I ever need to escalate...".
HYPOTHETICALS: tuple[tuple[str, ...], ...] = (
    ("if", "i", "ever"),
    ("if", "we", "ever"),
    ("if", "you", "ever"),
    ("if", "ever"),
    ("should", "i", "ever"),
    ("in", "case"),
    ("in", "the", "event"),
    ("hypothetically",),
    ("if", "i", "were", "to"),
    ("if", "i", "wanted", "to"),
    ("what", "happens", "if"),
    ("what", "if"),
)

NEGATION_WINDOW = 5  # tokens looked at before a cue; a clause break stops the look earlier
HYPOTHETICAL_WINDOW = 8
SENTIMENT_NEGATION_WINDOW = 3  # VADER's own scope for negating a sentiment word


# --------------------------------------------------------------------------------------------
# Word sets and raw token specs the patterns refer to
# --------------------------------------------------------------------------------------------

WORD_SETS: dict[str, frozenset[str]] = {
    # escalation
    "ROLE": word_set(
        "boss ceo director higher-up higher-ups manager managers senior superior superiors "
        "supervisor supervisors"
    ),
    "TALK": word_set("chat chatting escalate put speak speaking talk talking through transfer transferred"),
    "ASK": word_set(
        "ask asked asking call contact contacting demand demanding email get give need request "
        "requesting see want"
    ),
    "COMPLAIN_TO": word_set(
        "call calling complain complaining contact contacting email emailing escalate write writing"
    ),
    "DET": word_set("a anybody anyone my somebody someone the ur your yr"),
    # churn
    "CANCEL": word_set("cancel canceling cancelling end ending terminate terminating"),
    "RELATIONSHIP": word_set(
        "account accounts broadband contract contracts debit everything insurance "
        "membership mortgage package plan policy prime service services sub subscription "
        "subscriptions tariff"
    ),
    "POSS": word_set("all me my our the this ur us your"),
    "SWITCH": word_set(
        "change changing go going leave leaving move moving port porting switch switched switching"
    ),
    "PROVIDER": word_set(
        "airline airlines bank banks carrier carriers companies company competitor "
        "competitors insurer insurers isp network networks provider providers supplier "
        "suppliers"
    ),
    "OTHER": word_set(
        "another better cheaper competitor competitors different elsewhere new rival somebody someone"
    ),
    "TAKE": word_set("put putting spend spending take taking took"),
    "PATRONAGE": word_set("business cash custom loyalty money"),
    "USE": word_set(
        "bank banking book booking buy buying choose choosing come coming deal dealing fly flying "
        "order ordering purchase purchasing recommend recommending return returning shop shopping "
        "spend spending stay staying travel traveling travelling trust use using"
    ),
    # regulators and legal
    "REGULATOR": word_set(
        "attorney attorneys barrister bbb caa cfpb cma fca fcc ftc gdpr ico lawsuit lawyer "
        "lawyers litigation ofcom ofgem ofwat ombudsman ombudsmen orr regulator regulators "
        "solicitor solicitors watchdog"
    ),
    # amplification
    "SHARE": word_set(
        "blast blasting make making plaster plastering post posted posting publish publishing "
        "put putting share sharing spread spreading tweet tweeting"
    ),
    "SOCIAL": word_set(
        "facebook fb insta instagram internet linkedin reddit social tiktok twitter web x youtube"
    ),
    "MEDIA_VERB": word_set(
        "alert alerting call calling contact contacting email emailing go going tag "
        "tagging tell telling went write writing"
    ),
    "MEDIA": word_set(
        "bbc cnn itv journalist journalists media news newspaper newspapers papers press "
        "reporters telegraph watchdog"
    ),
    "BAD_RATING": word_set("angry awful bad damning honest horrible negative poor scathing terrible worst"),
    "LOW_STARS": word_set("0 1 half no one zero"),
    "REVIEW_SITE": word_set("feefo reviews.io tripadvisor trustpilot yelp"),
    "AUDIENCE": word_set("everybody everyone family followers friends others world"),
    "TELL": word_set("let letting tell telling warn warning"),
    # repeated contact
    "CONTACT_ING": word_set(
        "asking being breaking calling canceling cancelling charging chasing complaining "
        "contacting crashing cutting delaying disconnecting dropping emailing explaining "
        "failing freezing getting going happening having losing messaging phoning "
        "promising repeating ringing saying sending telling trying tweeting waiting "
        "writing"
    ),
    "AGAIN_AFTER": word_set(
        "asked billed broke broken called canceled cancelled charged chased complained "
        "contacted crashed crashing declined delay delayed disappointed disconnected down "
        "dropped emailed error failed failing gone happened happening ignored issue "
        "issues late let lost messaged missing off out outage overcharged phoned problem "
        "problems rang same stuck told tweeted wrong wrote"
    ),
    "MANY": word_set(
        "10 2 3 4 5 6 7 8 9 countless dozen dozens eight few five four hundred hundreds many "
        "million multiple nine numerous seven several six ten three twenty two umpteen"
    ),
    "STILL_BAD": word_set(
        "broken charging chasing crashing dealing down failing getting happening having "
        "missing never no nobody not nothing ongoing same showing stuck unable unresolved "
        "waiting without wrong"
    ),
    "AUX": word_set("am are can could did do does had has have is was were will would"),
    "ALREADY_DONE": word_set(
        "asked called chased complained contacted dm'd dmed done emailed explained gave "
        "given messaged phoned provided raised rang reported sent spoke spoken submitted "
        "told tried tweeted"
    ),
    # waiting time
    "UNIT": word_set(
        "day days fortnight fortnights hour hours hr hrs min mins minute minutes month months "
        "mth mths week weeks wk wks"
    ),
    "VAGUE_SPAN": word_set("ages days eternity ever forever hours months weeks"),
    "QUALIFIER": word_set(
        "a about almost an another approx approximately around at entire extra for full "
        "good last least less like literally more nearing nearly of over past solid than "
        "the under upwards whole"
    ),
    "FEW": word_set("couple eight few five four many multiple nine number seven several six ten three two"),
    "TIME_POINT": word_set(
        "afternoon apr april aug august christmas dec december easter evening feb february "
        "fri friday jan january jul july jun june lunchtime mar march may midday mon "
        "monday month morning night noon nov november oct october sat saturday sep sept "
        "september sun sunday thanksgiving thu thur thurs thursday time tue tues tuesday "
        "wed wednesday week weekend xmas year yesterday"
    ),
    "WHOLE_PERIOD": word_set("afternoon day evening month morning night week weekend"),
    "AWAITED": word_set(
        "acknowledgement acknowledgment answer answers call callback contact delivery email "
        "feedback news refund replies reply resolution response responses update updates word"
    ),
    "ARRIVE": word_set(
        "arrived come credited delivered dispatched fixed got gotten heard processed received "
        "refunded resolved shipped showed shown sorted turned"
    ),
    # broken promise
    "PROMISER": word_set(
        "ad advert adviser advisor agent app confirmation driver email engineer guy he lady "
        "manager person rep she site somebody someone staff technician they u website you"
    ),
    "PROMISE_VERB": word_set(
        "assured claimed confirmed guaranteed promise promised promises said says stated states told"
    ),
    "TOLD": word_set("advised assured guaranteed informed promised quoted told"),
    "TOLD_WHAT": word_set(
        "a all an everything he i it my nothing our she somebody someone that the there "
        "they this we would you your"
    ),
    "DUE": word_set(
        "arrived been called come contacted credited delivered dispatched emailed fixed got "
        "gotten heard processed received refunded replied resolved responded rung sent shipped "
        "sorted"
    ),
    # profanity
    "PROFANE_STRONG": word_set(
        "arsehole arseholes asshole assholes bastard bastards bitch bitches bollocks "
        "bullshit clusterfuck cunt cunts dickhead dickheads dipshit douchebag "
        "douchebags effing fck fcking ffs fking fkn fuck fucked fucken fucker fuckers "
        "fuckery fuckin fucking fucks fuckwit fuckwits fuk fuking gtfo horseshit "
        "jackass jfc motherfucker motherfuckers motherfucking omfg piss pissed pissing "
        "prick pricks scumbag scumbags shit shite shithole shitshow shitting shitty "
        "stfu tosser tossers twat twats wanker wankers wtf"
    ),
    "PROFANE_MILD": word_set(
        "arse ass bloody bugger buggered crap crappy dammit damn damned feck feckin "
        "fecking freakin freaking frickin fricking friggin frigging goddam goddamn "
        "goddamned screwed sodding suck sucks"
    ),
    # sarcasm
    "PRAISE": word_set(
        "amazing awesome brilliant cracking excellent exceptional fab fabulous fantastic "
        "first-class good great impressive lovely marvellous marvelous outstanding perfect "
        "smashing stellar superb terrific top wonderful world-class"
    ),
    "PRAISED": word_set("communication effort experience job response service stuff support work"),
    "HELPFUL": word_set(
        "caring competent efficient helpful informative professional prompt reassuring "
        "reliable responsive speedy useful"
    ),
    "VERY": word_set("ever extremely incredibly most really so soo sooo soooo such super truly very"),
    "THANKS": word_set("cheers thank thanks thanx thnx thx tnx ty"),
    "NOTHING": word_set("bugger f fuck jack nada nothing sod squat zilch zip"),
    "HASHTAG_SARCASM": word_set("ironic irony not sarcasm sarcastic thanksfornothing yeahright"),
    "OH_PRAISE": word_set(
        "brilliant fab fantastic good goody great joy lovely marvellous perfect splendid super wonderful"
    ),
    "LIKE_SARCASM": word_set("as like"),
}

_CARDINALS = (
    "zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|"
    "thousand|million"
)

#: One token's NORM, as a regular expression without anchors (it never sees whitespace).
TOKEN_SPECS: dict[str, str] = {
    "num": rf"\d+(?:[.,/:]\d+)*|{_CARDINALS}",
    "any": r"\S+",
    "alpha": r"[^\W\d_]+",
    "not_lead": r"\.+|,|-|–|—",  # "...", "…" (NORM "...") and dashes before a sarcastic "not"
    "glued_hash": "#",
    "ordinal": (
        r"\d+(?:st|nd|rd|th)|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
        r"twentieth|nth|umpteenth|hundredth|millionth|thousandth|gazillionth|zillionth"
    ),
    "num_unit": r"\d+(?:\.\d+)?(?:mins?|hrs?|hours?|days|wks?|weeks?|mths?|months?)",
    "times_x": r"\d+x",
    "date_num": r"\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?",
    # "f***" comes out of the tokenizer as f * * *: a first letter glued to a run of masks.
    "mask_initial": "f|s|sh|b|c|a",
    "mask_star_glued": r"[*#@]",
    "mask_star": r"[*#@]",
    "masked_swear": "",  # derived from MASKABLE_SWEARS below
}

#: Specs whose token must touch the next one, with no space between ("#not", "f***").
GLUED_SPECS = frozenset({"glued_hash", "mask_initial", "mask_star_glued"})


#: Swear words customers write with some letters masked; each letter after the first may be
#: replaced by a mask character, and at least one must be.
MASKABLE_SWEARS = word_set(
    "fuck fucks fucked fucker fuckers fucking fuckin motherfucker shit shits shitty shite bullshit bitch "
    "bitches bastard bastards bollocks asshole assholes arsehole arseholes ass cunt cunts pissed piss twat "
    "twats wanker wankers dick dickhead prick"
)
MASK_CHARACTERS = "*#@$!%"
LEET = {"i": "1", "o": "0", "a": "4", "e": "3", "s": "5"}


def _masked_swear_regex(words: frozenset[str]) -> str:
    """'shit' -> s[h*#@$!%][i1*#@$!%][t*#@$!%], with a lookahead that demands one mask or digit."""

    def masked(word: str) -> str:
        return word[0] + "".join(f"[{re.escape(c + LEET.get(c, '') + MASK_CHARACTERS)}]" for c in word[1:])

    masks = re.escape(MASK_CHARACTERS + "".join(sorted(set(LEET.values()))))
    first_letters = "".join(sorted({word[0] for word in words}))
    alternatives = "|".join(masked(word) for word in sorted(words, key=len, reverse=True))
    # The first-letter test rejects most tokens before the costlier search for a mask.
    return rf"(?=[{first_letters}])(?=\S*[{masks}])(?:{alternatives})"


TOKEN_SPECS["masked_swear"] = _masked_swear_regex(MASKABLE_SWEARS)

# --------------------------------------------------------------------------------------------
# The cue rules, one block per label
# --------------------------------------------------------------------------------------------

L = CueLabel

# One rule per block, its patterns one per line: kept as written, not reflowed by the formatter.
# fmt: off
ESCALATION = (
    _rule(L.escalation_demand, "speak_to_senior", 0.9,
          "customer asks to speak to someone senior: escalation demand",
          "{TALK} to|with|through {DET}? {ROLE}",
          "{TALK} to|with someone|somebody|anyone more? senior|higher",
          "{TALK} to|with someone|somebody|anyone|whoever in charge",
          "{TALK} to|with someone|somebody|anyone higher up",
          "put me through to {DET}? {ROLE}"),
    _rule(L.escalation_demand, "real_person", 0.5,
          "customer wants a real person instead of the current channel: escalation demand",
          "{TALK} to|with a? real|actual|live human|person|agent|people"),
    _rule(L.escalation_demand, "ask_for_senior", 0.85,
          "customer asks for a manager: escalation demand",
          "{ASK} me? a|the|your|ur|yr|to {ROLE}",
          "{ASK} for {DET}? {ROLE}",
          "{ASK} to speak|talk to {DET}? {ROLE}"),
    _rule(L.escalation_demand, "your_manager", 0.7,
          "customer brings in the agent's manager: escalation demand",
          "your|ur|yr manager|supervisor|boss|superior|superiors|ceo|managers"),
    _rule(L.escalation_demand, "escalate", 0.9,
          "customer wants the case escalated: escalation demand",
          "escalate|escalated|escalating|escalation"),
    _rule(L.escalation_demand, "head_office", 0.8,
          "customer is going over the agent's head to head office: escalation demand",
          "head|main office|offices",
          "{COMPLAIN_TO} to? the? headquarters|hq|corporate",
          "complaints department|team|dept|procedure|process"),
    _rule(L.escalation_demand, "formal_complaint", 0.75,
          "customer raises a formal complaint: escalation into the complaints process",
          "formal|official complaint",
          "make|making|file|filing|lodge|lodging|raise|raising|log|logging|submit|submitting a complaint"),
)

CHURN = (
    _rule(L.churn_threat, "cancel_relationship", 0.9,
          "customer intends to cancel the account or contract: churn threat",
          "{CANCEL} {POSS}? <alpha>? {RELATIONSHIP}"),
    _rule(L.churn_threat, "cancel_bare", 0.6,
          "customer says they will cancel: churn threat",
          "cancel|cancelling|canceling", clause_final=True),
    _rule(L.churn_threat, "close_account", 0.9,
          "customer wants to close the account: churn threat",
          "close|closing|shut|shutting {POSS}? <alpha>? account|accounts"),
    _rule(L.churn_threat, "switch_provider", 0.85,
          "customer talks of switching provider: churn threat",
          "{SWITCH} {POSS}? {PROVIDER}",
          "{SWITCH} to|over a? {OTHER}",
          "{SWITCH} to|over to? a? {OTHER} {PROVIDER}"),
    _rule(L.churn_threat, "business_elsewhere", 0.95,
          "customer is taking their business elsewhere: churn threat",
          "{TAKE} my|our {PATRONAGE} elsewhere|somewhere",
          "go|going|shop|shopping|look|looking|went elsewhere"),
    _rule(L.churn_threat, "never_again", 0.95,
          "customer swears never to use the company again: churn threat",
          "never be? {USE} <any>? <any>? <any>? again",
          "will|would|shall|do|am not be? {USE} <any>? <any>? <any>? again",
          "never again",
          "last time i|we|ill {USE}"),
    _rule(L.churn_threat, "leaving_you", 0.8,
          "customer says they are leaving the company: churn threat",
          "leaving|left you|u|ur|your",
          not_before="a an 1 one zero 0 half no feedback review reviews star stars alone waiting on"),
    _rule(L.churn_threat, "leaving_now", 0.8,
          "customer says they are leaving: churn threat",
          "i|we am|are|will be? leaving|off", clause_final=True),
    _rule(L.churn_threat, "no_longer_customer", 0.9,
          "customer says they are no longer a customer: churn threat",
          "no longer be? a|your? customer|customers|using|with|use",
          "done|finished with you|u|your|ur"),
    _rule(L.churn_threat, "not_renewing", 0.85,
          "customer will not renew: churn threat",
          "never be? renew|renewing",
          "will|would|shall|do|am|are not be? renew|renewing"),
    _rule(L.churn_threat, "porting_code", 0.9,
          "customer asks for a code to port their number away: churn in progress",
          "pac|stac|porting code|number"),
)

REGULATOR = (
    _rule(L.regulator_mention, "regulator_or_lawyer", 0.95,
          "customer names a regulator or lawyer: formal or legal escalation risk",
          "{REGULATOR}",
          "financial ombudsman",
          "trading standards",
          "citizens advice",
          "better business bureau",
          "attorney general",
          "consumer rights|protection",
          "data protection",
          "class action",
          "department of transportation|transport"),
    _rule(L.regulator_mention, "legal_action", 0.95,
          "customer threatens legal action: legal escalation risk",
          "legal action|proceedings|advice|team|route|steps",
          "small claims court?",
          "county court",
          "to|in court",
          "court action|case|claim",
          "sue|suing|sued you|u|them|the|your|ur"),
    _rule(L.regulator_mention, "report_you", 0.85,
          "customer will report the company: regulator escalation risk",
          "report|reporting|reported you|u|them",
          "report|reporting this|it to the|my|a"),
)

AMPLIFICATION = (
    _rule(L.public_amplification, "post_everywhere", 0.9,
          "customer will spread the complaint publicly: reputational risk",
          "{SHARE} this|it|these|them|everything|my|about? everywhere|online|publicly|public|far",
          "all|everywhere over|on|across {SOCIAL}",
          "{SHARE} this|it|about|on <any>? {SOCIAL}",
          "spread the word"),
    _rule(L.public_amplification, "press", 0.95,
          "customer will go to the press: reputational risk",
          "{MEDIA_VERB} to? the? {MEDIA}"),
    _rule(L.public_amplification, "bad_review", 0.8,
          "customer threatens a bad public review: reputational risk",
          "{BAD_RATING} review|reviews|rating|ratings|feedback",
          "{LOW_STARS} -? star|stars review|reviews|rating|ratings?",
          "{REVIEW_SITE}",
          "google review|reviews"),
    _rule(L.public_amplification, "leave_review", 0.5,
          "customer mentions writing a public review: reputational risk",
          "leave|leaving|write|writing|post|posting|give|giving a? review|reviews"),
    _rule(L.public_amplification, "everyone_will_know", 0.85,
          "customer wants everyone to hear about it: reputational risk",
          "everyone|everybody|world|people will|should|needs|need|must|is|are going? to? know|hear",
          "{TELL} all? my? {AUDIENCE} know|about",
          "tell|telling|warn|warning all? my? {AUDIENCE}"),
    _rule(L.public_amplification, "retweet", 0.75,
          "customer asks others to share the complaint: reputational risk",
          "retweet|retweets|retweeting|retweeted",
          "please|pls|plz rt|share",
          "go|going|gone|goes viral"),
)

REPEATED = (
    _rule(L.repeated_contact, "yet_again", 0.8,
          "the same problem has happened before: repeat failure",
          "yet|once again", "again and again", "time and time again", "over and over again?",
          "here we go again"),
    _rule(L.repeated_contact, "nth_time", 0.85,
          "customer has had to get in touch several times: repeat contact",
          "the? <ordinal> time|times|attempt|call",
          "not the first time"),
    _rule(L.repeated_contact, "how_many_times", 0.85,
          "customer has lost count of their attempts: repeat contact",
          "how many more? times"),
    _rule(L.repeated_contact, "every_time", 0.55,
          "the problem recurs every time: repeat failure",
          "every|each single? time"),
    _rule(L.repeated_contact, "keep_contacting", 0.8,
          "customer keeps having to chase: repeat contact",
          "keep|keeps|kept|keeping {CONTACT_ING}",
          "keep|keeps|kept having to"),
    _rule(L.repeated_contact, "many_times", 0.6,
          "customer has tried many times: repeat contact",
          "{MANY} of? times", "so many times", "<times_x>",
          not_before="better worse faster slower more less cheaper bigger smaller as the higher lower over"),
    _rule(L.repeated_contact, "twice", 0.6,
          "customer has had to do it twice: repeat contact",
          "{AGAIN_AFTER} me|us|it|you? twice"),
    _rule(L.repeated_contact, "again_after_failure", 0.6,
          "the failure or contact is happening again: repeat contact",
          "{AGAIN_AFTER} me|us|it|you|up|on|the|thing|problem|issue? again"),
    _rule(L.repeated_contact, "still_broken", 0.7,
          "the problem is still not resolved: repeat contact",
          "still {AUX}? {STILL_BAD}"),
    _rule(L.repeated_contact, "already_done", 0.7,
          "customer has already done what is asked: repeat contact",
          "already {ALREADY_DONE}",
          "as i|we said|mentioned|explained|stated|told|wrote"),
    _rule(L.repeated_contact, "chasing", 0.6,
          "customer is chasing an earlier request: repeat contact",
          "chasing|chased", "chase up|this|it|again",
          "follow|following|followed up",
          not_before="down"),  # "she chased down my lost bag": found it, not a customer chasing
)

WAITING = (
    _rule(L.waiting_time, "duration", 0.55,
          "customer states how long this has taken: waiting time",
          "<num> working|business|whole|full? {UNIT} ago?",
          "<num_unit> ago?",
          "a|an {UNIT} ago?",
          "a? {FEW} of? working|business? {UNIT} ago?",
          "half an|a hour",
          extend_left=WORD_SETS["QUALIFIER"],
          negatable=False, not_after="once twice per every each within in next",
          not_before="of away early free trial left remaining before until ahead old from later time"),
    _rule(L.waiting_time, "vague_duration", 0.6,
          "customer has been kept waiting a long time: waiting time",
          "for|over|in {VAGUE_SPAN}",
          "hours|days|weeks|months|ages later|now|on",
          "all day|week|morning|afternoon|evening|night|weekend|month|year",
          "taking|takes|took|taken|take forever|ages",
          "taking|takes|took|taken|take so|too|this|that long",
          negatable=False),
    _rule(L.waiting_time, "since", 0.6,
          "customer has been waiting since a given day: waiting time",
          "since last|this|early|the? {TIME_POINT}",
          "since the? <ordinal>",
          "since <date_num>",
          "since <num>",
          negatable=False),
    _rule(L.waiting_time, "still_waiting", 0.8,
          "customer is still waiting: waiting time and repeat contact",
          "still waiting|waitin|awaiting",
          "been waiting|waitin|waited",
          negatable=False),
    _rule(L.waiting_time, "on_hold", 0.65,
          "customer has been left on hold: waiting time",
          "on hold", "onhold"),
    _rule(L.waiting_time, "no_reply_yet", 0.55,
          "customer has had no reply: waiting time",
          "no|zero|nil {AWAITED} yet|back?",
          "have|has|had|did|do|does not|never yet? {ARRIVE} back?",
          "yet to receive|hear|arrive|get|see|be",
          "where is|'s my|our <alpha>?",
          negatable=False),
)

BROKEN_PROMISE = (
    _rule(L.broken_promise, "you_said", 0.75,
          "customer quotes what the company said before: broken promise",
          "you|u|your|ur {PROMISE_VERB}",
          not_after="if whatever"),
    _rule(L.broken_promise, "they_said", 0.5,
          "customer quotes what staff or the website said before: possible broken promise",
          "{PROMISER} {PROMISE_VERB}",
          not_after="if whatever"),
    _rule(L.broken_promise, "promised", 0.8,
          "customer was promised something: broken promise",
          "promised|guaranteed|assured", "broken|false|empty promise|promises"),
    _rule(L.broken_promise, "promise_noun", 0.6,
          "customer holds the company to a promise: broken promise",
          "promise|promises|guarantee|assurance|assurances",
          not_after="i we can please pinky"),
    _rule(L.broken_promise, "was_told", 0.75,
          "customer was told something that did not happen: broken promise",
          "i|we|they|he|she|you? was|were|been|being|am|are|get|got|keep {TOLD}",
          "told|promised|assured me|us {TOLD_WHAT}",
          not_before="to"),
    _rule(L.broken_promise, "supposed_to", 0.7,
          "something did not happen as it was supposed to: broken promise",
          "supposed|meant to",
          not_after="i we am are you u",
          not_before="say ask mention write type"),
    _rule(L.broken_promise, "should_have", 0.6,
          "something should already have happened: broken promise",
          "should have already? {DUE}"),
    _rule(L.broken_promise, "not_as_promised", 0.8,
          "the service did not match what was promised: broken promise",
          "not as promised|described|advertised|agreed|stated|expected"),
    _rule(L.broken_promise, "lied", 0.75,
          "customer accuses the company of lying: broken promise",
          "lied|lying|liar|liars",
          "misled|misleading|misinformed|mis-sold|missold",
          "false advertising"),
)

PROFANITY = (
    _rule(L.profanity, "strong", 0.9,
          "customer swears: strong anger",
          "{PROFANE_STRONG}", "<masked_swear>", "<mask_initial> <mask_star_glued>+ <mask_star>",
          "mother fucker|fuckers|fucking", "what the fk|eff", "f off", "piss off", "sod off",
          "screw you|u|them|this", "go to hell", "pissed off",
          negatable=False),
    _rule(L.profanity, "mild", 0.45,
          "customer uses mild swearing: frustration",
          "{PROFANE_MILD}", "what|the|to|bloody hell", "hell no",
          negatable=False),
)

SARCASM = (
    _rule(L.sarcasm, "thanks_for_nothing", 0.9,
          "sarcastic thanks: the customer is angry, not grateful",
          "{THANKS} you|u? for {NOTHING} all?",
          "{THANKS} you|u? for absolutely|literally nothing",
          negatable=False),
    _rule(L.sarcasm, "hashtag_sarcasm", 0.9,
          "customer flags their own sarcasm: praise means the opposite",
          "<glued_hash> {HASHTAG_SARCASM}",
          negatable=False),
    _rule(L.sarcasm, "dot_dot_dot_not", 0.85,
          "praise taken back with '... not': the customer means the opposite",
          "<not_lead> not", clause_final=True, negatable=False),
    _rule(L.sarcasm, "said_no_one", 0.85,
          "sarcastic 'said no one ever': the customer means the opposite",
          "said no one|nobody|noone ever?", negatable=False),
    _rule(L.sarcasm, "slash_s", 0.7,
          "customer marks the message as sarcasm (/s)", "/s", clause_final=True, negatable=False),
    _rule(L.sarcasm, "like_that_will_happen", 0.7,
          "customer sarcastically doubts the promise will be kept",
          "{LIKE_SARCASM} if|that|it is|'s|will ever? going? to? happen", negatable=False),
    _rule(L.sarcasm, "what_a_surprise", 0.6,
          "mock surprise: the failure was expected",
          "surprise surprise", "what a surprise|shock|shocker", "big surprise", "shocker",
          "colour|color me shocked|surprised", "who would have thought|guessed",
          negatable=False),
    _rule(L.sarcasm, "praise_in_complaint", 0.6,
          "praise next to a complaint: likely sarcasm",
          "well done|played",
          "nice one|job|work|going",
          "good|great job|work|going",
          "{VERY}? {PRAISE} customer? {PRAISED}",
          "what a {PRAISE} customer? {PRAISED}|way|start|day",
          "another {PRAISE} <alpha>",
          negatable=False, needs_negative_context=True),
    _rule(L.sarcasm, "sarcastic_thanks", 0.5,
          "thanks next to a complaint: likely sarcasm",
          "{THANKS} a lot|bunch|million|heap|heaps",
          "{THANKS} for that|this",
          negatable=False, needs_negative_context=True),
    _rule(L.sarcasm, "love_how", 0.7,
          "'love how' about something that went wrong: sarcasm",
          "love|loving|loved|luv how|that|when",
          "love it when", "love the way",
          "have|got to love",
          negatable=False, needs_negative_context=True),
    _rule(L.sarcasm, "so_helpful", 0.7,
          "'so helpful' next to a complaint: sarcasm",
          "{VERY} {HELPFUL}",
          negatable=False, needs_negative_context=True),
    _rule(L.sarcasm, "oh_great", 0.6,
          "'oh great' next to a complaint: sarcasm",
          "oh|ooh {OH_PRAISE}", "just what i|we needed|wanted", "exactly what i|we needed|wanted",
          "yeah|yea|ya|yeh ,? right",
          negatable=False, needs_negative_context=True),
)

# fmt: on

#: Every lexicon rule by label, in the order the matcher components run.
RULES: dict[CueLabel, tuple[CueRule, ...]] = {
    L.escalation_demand: ESCALATION,
    L.churn_threat: CHURN,
    L.regulator_mention: REGULATOR,
    L.public_amplification: AMPLIFICATION,
    L.repeated_contact: REPEATED,
    L.waiting_time: WAITING,
    L.broken_promise: BROKEN_PROMISE,
    L.profanity: PROFANITY,
    L.sarcasm: SARCASM,
}

#: Complaint signals that turn nearby praise into sarcasm ("love how my train is delayed again").
SARCASM_CONTEXT_LABELS = frozenset(
    {
        L.negative_emotion,
        L.waiting_time,
        L.repeated_contact,
        L.broken_promise,
        L.churn_threat,
        L.escalation_demand,
        L.regulator_mention,
        L.profanity,
    }
)

#: Words that, near praise, mark it as sarcastic even when VADER has no valence for them.
NEGATIVE_CONTEXT_WORDS = word_set(
    "again broken bug bugs canceled cancelled crashed crashes crashing delay "
    "delayed delays disconnected down dropped error fail failed fault faulty "
    "glitch hold ignored ignoring late lied lost missing nope offline outage "
    "overcharged queue queues rude still stuck unable useless waited waiting "
    "worst wrong"
)

SARCASM_CONTEXT_WINDOW = 12  # tokens either side of the praise
EXTEND_LEFT_MAX = 3


# --------------------------------------------------------------------------------------------
# Negative emotion (VADER) and intensity
# --------------------------------------------------------------------------------------------

#: VADER scores these negative, but in a service conversation they name an action, not a feeling
#: ("how do I pay", "please cancel the order"); negators are syntax, handled by negation.py.
VADER_IGNORED = word_set(
    "cancel canceled canceling cancelled cancelling cancels charge charges leave no pay sorry"
)

VADER_MAX_VALENCE = 4.0  # VADER's lexicon runs from -4 to +4

#: Words written in capitals by convention, so not shouting.
ACRONYMS = word_set(
    "aa aaa aarp abn adsl afaik ai am ama amex aml ana anz aol api apn apr argos asa asap "
    "asos atm aud aws axis ba bbb bbc bic bnp bogo bogof brb bst bt btw caa cad ceo cfo cfpb "
    "cia cibc cma cnn cpu css cst cvv dbs dd dfs dhl diy dm dms dmv dns dob dpd dvd dvla dwp "
    "ebay edt ee emi esim espn est eta eu eur faa faq fbi fca fcc ffs fomo ftc fttc fttp fyi "
    "gb gbp gcp gdpr gmt gps gpu gwr hbo hd hdfc hdmi hmrc hp hr hsbc html iban ibm icici ico "
    "id idk iirc ikea ikr imei imho imo ing ios ip irl irs isa isp it itv jal jcb jfk jk kb "
    "klm kyc lan lax lcd led lg lgw lhr lmao lmfao lner lol lte mb mbna mfa mfi mifi mms mot "
    "mst nasa nba nfc nfl nhs np nsfw nvm nyc ocado ocbc ok okay oled omg ootd orr os otp "
    "paypal pc pdf pdt pin pls plz pm pnc pnr po ppi ps psd pst qvc rac ram rbc rbs rip rofl "
    "rspca rsvp sas sbi sim smh sms sncf so sql ssd ssl ssn sso swr tb tba tbc tbd tbh tfl "
    "thx tldr tnt tsa tsb ttyl tv ual uhd uk uob ups url us usa usaa usb usd usps ussd utc "
    "vat vdsl vpn wan wifi wtf xbox xo xx xxx yolo"
)

#: Runs of at least this many "!"/"?" count as intensity ("!!", "?!", "???").
PUNCT_RUN_MIN = 2


# --------------------------------------------------------------------------------------------
# Case references (entities.py)
# --------------------------------------------------------------------------------------------

#: The word that introduces a reference, and the entity label the reference gets.
REFERENCE_KEYWORDS: dict[str, str] = {
    **dict.fromkeys(word_set("order orders ord invoice"), "ORDER_NUMBER"),
    **dict.fromkeys(word_set("account acct acc customer membership card policy"), "ACCOUNT_NUMBER"),
    **dict.fromkeys(word_set("ticket case complaint incident claim"), "TICKET_NUMBER"),
    **dict.fromkeys(
        word_set("ref reference booking confirmation tracking pnr parcel consignment"), "REFERENCE_NUMBER"
    ),
}

#: Filler between the keyword and the identifier: "order no. 123", "account ending in 1234".
REFERENCE_CONNECTORS = word_set(
    "# #: - . : = code ending ends id in is n no no. nr num number numbers nº ref reference was with °"
)

#: An identifier has at least three characters and at least one digit ("12345", "ABC-123456").
REFERENCE_ID_REGEX = r"^(?=[A-Za-z0-9\-/]*\d)[A-Za-z0-9][A-Za-z0-9\-/]{2,}$"

#: spaCy NER labels that are case details; the rest (PERSON, GPE, CARDINAL...) are left out.
CASE_NER_LABELS = frozenset({"MONEY", "DATE", "TIME", "ORG", "PRODUCT"})
