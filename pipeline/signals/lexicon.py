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


def _rule(label: CueLabel, name: str, weight: float, explanation: str, *patterns: str, **flags: Any) -> CueRule:
    for key in ("not_after", "not_before"):
        if key in flags:
            flags[key] = frozenset(flags[key])
    return CueRule(label, name, weight, explanation, patterns, **flags)


# --------------------------------------------------------------------------------------------
# Scope of negation and hypotheticals (used by negation.py for every negatable cue)
# --------------------------------------------------------------------------------------------

#: NORMs that negate what follows them in the same clause. "n't"/"nt"/"cannot" all NORM to "not".
NEGATORS = frozenset({"not", "no", "never", "without", "nothing", "nobody", "noone", "none", "neither", "nor", "hardly"})

#: Words and punctuation that end a clause: a negator before them does not reach past them.
CLAUSE_BREAKS = frozenset(
    {".", ",", ";", ":", "!", "?", "...", "…", "-", "–", "—", "(", ")", "/",
     "but", "so", "because", "cause", "cos", "coz", "cuz", "and", "however", "although", "though", "then"}
)

#: Verbs that open a new embedded wish: "they won't let me cancel" still wants to cancel.
SCOPE_OPENERS = frozenset({"let", "letting", "allow", "allowing", "allowed", "able"})

#: Modals whose negation is inability, not refusal: "I can't cancel my account online" still wants to.
INABILITY_MODALS = frozenset({"can", "could"})

#: After a negator these mark a question by inversion ("why won't you let me..."), not a denial.
SUBJECT_PRONOUNS = frozenset({"i", "you", "u", "we", "they", "he", "she", "it"})

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
    "ROLE": frozenset({"manager", "managers", "supervisor", "supervisors", "boss", "superior", "superiors", "ceo",
                       "director", "higher-up", "higher-ups", "senior"}),
    "TALK": frozenset({"speak", "speaking", "talk", "talking", "chat", "chatting", "escalate", "transfer",
                       "transferred", "put", "through"}),
    "ASK": frozenset({"want", "need", "demand", "demanding", "request", "requesting", "get", "give", "see",
                      "ask", "asking", "asked", "call", "email", "contact", "contacting"}),
    "DET": frozenset({"a", "the", "your", "ur", "yr", "someone", "somebody", "anyone", "anybody", "my"}),
    # churn
    "CANCEL": frozenset({"cancel", "cancelling", "canceling", "terminate", "terminating", "end", "ending"}),
    "RELATIONSHIP": frozenset({"account", "accounts", "subscription", "subscriptions", "sub", "contract", "contracts",
                               "membership", "service", "services", "plan", "policy", "broadband", "package",
                               "debit", "everything", "prime", "insurance", "mortgage", "tariff"}),
    "POSS": frozenset({"my", "our", "the", "this", "your", "ur", "all", "me", "us"}),
    "SWITCH": frozenset({"switch", "switching", "switched", "change", "changing", "move", "moving", "port",
                         "porting", "go", "going", "leave", "leaving"}),
    "PROVIDER": frozenset({"provider", "providers", "supplier", "suppliers", "network", "networks", "bank", "banks",
                           "carrier", "carriers", "isp", "insurer", "insurers", "airline", "airlines", "competitor",
                           "competitors", "company", "companies"}),
    "OTHER": frozenset({"another", "competitor", "competitors", "different", "new", "better", "cheaper", "someone",
                        "somebody", "elsewhere", "rival"}),
    "TAKE": frozenset({"take", "taking", "took", "spend", "spending", "put", "putting"}),
    "PATRONAGE": frozenset({"business", "money", "custom", "cash", "loyalty"}),
    "USE": frozenset({"use", "using", "fly", "flying", "shop", "shopping", "order", "ordering", "buy", "buying",
                      "book", "booking", "stay", "staying", "bank", "banking", "deal", "dealing", "recommend",
                      "recommending", "travel", "travelling", "traveling", "choose", "choosing", "purchase",
                      "purchasing", "trust", "return", "returning", "come", "coming", "spend", "spending"}),
    # regulators and legal
    "REGULATOR": frozenset({"fca", "ombudsman", "ombudsmen", "ofcom", "ofgem", "ofwat", "cfpb", "bbb", "ftc", "fcc",
                            "caa", "orr", "ico", "cma", "gdpr", "watchdog", "regulator", "regulators", "lawyer",
                            "lawyers", "solicitor", "solicitors", "attorney", "attorneys", "lawsuit", "litigation",
                            "barrister"}),
    # amplification
    "SHARE": frozenset({"post", "posting", "posted", "share", "sharing", "put", "putting", "blast", "blasting",
                        "publish", "publishing", "plaster", "plastering", "spread", "spreading", "make", "making",
                        "tweet", "tweeting"}),
    "SOCIAL": frozenset({"social", "facebook", "fb", "twitter", "instagram", "insta", "tiktok", "reddit", "youtube",
                         "linkedin", "internet", "web", "x"}),
    "MEDIA_VERB": frozenset({"tag", "tagging", "contact", "contacting", "call", "calling", "tell", "telling", "go",
                             "going", "went", "email", "emailing", "write", "writing", "alert", "alerting"}),
    "MEDIA": frozenset({"press", "media", "papers", "newspapers", "newspaper", "news", "bbc", "journalists",
                        "journalist", "reporters", "itv", "cnn", "telegraph", "watchdog"}),
    "BAD_RATING": frozenset({"bad", "terrible", "negative", "awful", "horrible", "poor", "scathing", "worst",
                             "honest", "damning", "angry"}),
    "LOW_STARS": frozenset({"1", "one", "zero", "0", "half", "no"}),
    "REVIEW_SITE": frozenset({"trustpilot", "tripadvisor", "yelp", "feefo", "reviews.io"}),
    "AUDIENCE": frozenset({"everyone", "everybody", "others", "friends", "family", "followers", "world"}),
    "TELL": frozenset({"tell", "telling", "warn", "warning", "let", "letting"}),
    # repeated contact
    "CONTACT_ING": frozenset({"calling", "ringing", "phoning", "emailing", "messaging", "chasing", "asking", "tweeting",
                              "contacting", "complaining", "explaining", "getting", "being", "having", "happening",
                              "failing", "crashing", "dropping", "telling", "saying", "trying", "sending",
                              "charging", "breaking", "freezing", "disconnecting", "cutting", "losing", "delaying",
                              "cancelling", "canceling", "going", "waiting", "promising", "repeating", "writing"}),
    "AGAIN_AFTER": frozenset({"called", "contacted", "emailed", "messaged", "rang", "phoned", "chased", "asked",
                              "complained", "tweeted", "wrote", "happened", "happening", "broken", "broke", "failed",
                              "failing", "down", "late", "delayed", "cancelled", "canceled", "crashed", "crashing",
                              "wrong", "charged", "overcharged", "missing", "lost", "declined", "stuck", "disconnected",
                              "dropped", "same", "out", "off", "gone", "delay", "problem", "problems", "issue",
                              "issues", "error", "outage", "disappointed", "let", "ignored", "billed", "told"}),
    "MANY": frozenset({"multiple", "several", "numerous", "countless", "many", "dozen", "dozens", "hundred",
                       "hundreds", "million", "umpteen", "few", "2", "3", "4", "5", "6", "7", "8", "9", "10",
                       "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty"}),
    "STILL_BAD": frozenset({"not", "no", "nothing", "never", "broken", "down", "unresolved", "unable", "having",
                            "getting", "missing", "charging", "happening", "stuck", "ongoing", "waiting", "without",
                            "nobody", "wrong", "failing", "crashing", "showing", "dealing", "chasing", "same"}),
    "AUX": frozenset({"have", "has", "had", "do", "does", "did", "is", "are", "was", "were", "can", "could", "will",
                      "would", "am"}),
    "ALREADY_DONE": frozenset({"called", "contacted", "explained", "told", "sent", "provided", "given", "gave",
                               "asked", "complained", "emailed", "reported", "spoken", "spoke", "phoned", "rang",
                               "messaged", "dm'd", "dmed", "tweeted", "submitted", "done", "tried", "raised",
                               "chased"}),
    # waiting time
    "UNIT": frozenset({"minute", "minutes", "min", "mins", "hour", "hours", "hr", "hrs", "day", "days", "week", "weeks",
                       "wk", "wks", "month", "months", "mth", "mths", "fortnight", "fortnights"}),
    "VAGUE_SPAN": frozenset({"hours", "days", "weeks", "months", "ages", "forever", "eternity", "ever"}),
    "QUALIFIER": frozenset({"for", "over", "nearly", "almost", "about", "around", "more", "than", "at", "least",
                            "past", "last", "another", "literally", "like", "whole", "full", "entire", "an", "extra",
                            "less", "under",
                            "good", "solid", "the", "a", "upwards", "of", "nearing", "approx", "approximately"}),
    "FEW": frozenset({"couple", "few", "several", "many", "multiple", "number", "two", "three", "four", "five", "six",
                      "seven", "eight", "nine", "ten"}),
    "TIME_POINT": frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mon", "tue",
                             "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun", "yesterday", "morning",
                             "afternoon", "evening", "night", "week", "weekend", "month", "january", "february",
                             "march", "april", "may", "june", "july", "august", "september", "october", "november",
                             "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
                             "dec", "christmas", "xmas", "easter", "thanksgiving", "lunchtime", "midday", "noon",
                             "time", "year"}),
    "WHOLE_PERIOD": frozenset({"day", "week", "morning", "afternoon", "evening", "night", "weekend", "month"}),
    "AWAITED": frozenset({"reply", "replies", "response", "responses", "answer", "answers", "update", "updates",
                          "callback", "word", "contact", "news", "refund", "resolution", "feedback", "acknowledgement",
                          "acknowledgment", "email", "call", "delivery"}),
    "ARRIVE": frozenset({"heard", "received", "arrived", "come", "turned", "delivered", "got", "gotten", "showed",
                         "shown", "refunded", "resolved", "fixed", "credited", "processed", "sorted", "dispatched",
                         "shipped"}),
    # broken promise
    "PROMISER": frozenset({"you", "u", "they", "he", "she", "someone", "somebody", "agent", "staff", "rep", "advisor",
                           "adviser", "guy", "lady", "website", "site", "app", "email", "confirmation", "advert", "ad",
                           "person", "manager", "driver", "engineer", "technician"}),
    "PROMISE_VERB": frozenset({"said", "says", "promised", "promise", "promises", "claimed", "assured", "guaranteed",
                               "stated", "states", "confirmed", "told"}),
    "TOLD": frozenset({"told", "informed", "promised", "assured", "guaranteed", "advised", "quoted"}),
    "TOLD_WHAT": frozenset({"it", "that", "i", "we", "they", "this", "my", "the", "would", "you", "he", "she", "there",
                            "someone", "somebody", "a", "an", "your", "our", "everything", "all", "nothing"}),
    "DUE": frozenset({"arrived", "been", "come", "received", "got", "gotten", "delivered", "refunded", "called", "rung",
                      "heard", "fixed", "resolved", "credited", "processed", "sorted", "dispatched", "shipped",
                      "replied", "responded", "contacted", "emailed", "sent"}),
    # profanity
    "PROFANE_STRONG": frozenset({"fuck", "fucking", "fucked", "fucker", "fuckers", "fucks", "fuckin", "fkn", "fking",
                                 "fck", "fcking", "fuk", "fuking", "fucken", "motherfucker", "motherfuckers",
                                 "motherfucking", "fuckery", "fuckwit", "fuckwits", "clusterfuck", "shit", "shitty",
                                 "shite", "shithole", "shitshow", "bullshit", "horseshit", "shitting", "cunt", "cunts",
                                 "twat", "twats", "wanker", "wankers", "dickhead", "dickheads", "asshole", "assholes",
                                 "arsehole", "arseholes", "bastard", "bastards", "bitch", "bitches", "prick", "pricks",
                                 "wtf", "ffs", "stfu", "omfg", "jfc", "gtfo", "effing", "bollocks", "tosser",
                                 "tossers", "scumbag", "scumbags", "jackass", "dipshit", "douchebag", "douchebags",
                                 "piss", "pissed", "pissing"}),
    "PROFANE_MILD": frozenset({"damn", "dammit", "damned", "goddamn", "goddamned", "goddam", "crap", "crappy",
                               "bloody", "arse", "ass", "frigging", "friggin", "frickin", "fricking", "freaking",
                               "freakin", "sodding", "bugger", "buggered", "feck", "feckin", "fecking", "screwed",
                               "sucks", "suck"}),
    # sarcasm
    "PRAISE": frozenset({"great", "good", "fantastic", "brilliant", "excellent", "amazing", "stellar", "top", "wonderful",
                         "outstanding", "superb", "lovely", "awesome", "fab", "terrific", "perfect", "smashing",
                         "cracking", "fabulous", "marvellous", "marvelous", "impressive", "exceptional", "world-class",
                         "first-class"}),
    "PRAISED": frozenset({"service", "job", "work", "stuff", "effort", "experience", "support", "communication",
                          "response"}),
    "HELPFUL": frozenset({"helpful", "useful", "efficient", "reliable", "professional", "speedy", "prompt",
                          "responsive", "reassuring", "informative", "competent", "caring"}),
    "VERY": frozenset({"so", "very", "really", "super", "extremely", "soo", "sooo", "soooo", "incredibly", "truly",
                       "ever", "most", "such"}),
    "THANKS": frozenset({"thanks", "thank", "cheers", "thx", "ty", "thnx", "thanx", "tnx"}),
    "NOTHING": frozenset({"nothing", "nada", "zilch", "zip", "sod", "bugger", "fuck", "f", "jack", "squat"}),
    "HASHTAG_SARCASM": frozenset({"not", "sarcasm", "sarcastic", "irony", "ironic", "thanksfornothing", "yeahright"}),
    "OH_PRAISE": frozenset({"great", "wonderful", "brilliant", "joy", "perfect", "lovely", "fantastic", "good", "super",
                            "fab", "marvellous", "goody", "splendid"}),
    "LIKE_SARCASM": frozenset({"like", "as"}),
}

_CARDINALS = (
    "zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million"
)

#: One token's NORM, as a regular expression without anchors (it never sees whitespace).
TOKEN_SPECS: dict[str, str] = {
    "num": rf"\d+(?:[.,/:]\d+)*|{_CARDINALS}",
    "any": r"\S+",
    "alpha": r"[^\W\d_]+",
    "not_lead": r"\.+|,|-|–|—",  # "...", "…" (NORM "...") and dashes before a sarcastic "not"
    "glued_hash": "#",
    "ordinal": r"\d+(?:st|nd|rd|th)|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
               r"twentieth|nth|umpteenth|hundredth|millionth|thousandth|gazillionth|zillionth",
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
MASKABLE_SWEARS = (
    "fuck", "fucks", "fucked", "fucker", "fuckers", "fucking", "fuckin", "motherfucker", "shit", "shits", "shitty",
    "shite", "bullshit", "bitch", "bitches", "bastard", "bastards", "bollocks", "asshole", "assholes", "arsehole",
    "arseholes", "ass", "cunt", "cunts", "pissed", "piss", "twat", "twats", "wanker", "wankers", "dick", "dickhead",
    "prick",
)
MASK_CHARACTERS = "*#@$!%"
LEET = {"i": "1", "o": "0", "a": "4", "e": "3", "s": "5"}


def _masked_swear_regex(words: tuple[str, ...]) -> str:
    """'shit' -> s[h*#@$!%][i1*#@$!%][t*#@$!%], with a lookahead that demands one mask or digit."""

    def masked(word: str) -> str:
        return word[0] + "".join(f"[{re.escape(c + LEET.get(c, '') + MASK_CHARACTERS)}]" for c in word[1:])

    masks = re.escape(MASK_CHARACTERS + "".join(sorted(set(LEET.values()))))
    alternatives = "|".join(masked(word) for word in sorted(words, key=len, reverse=True))
    return rf"(?=\S*[{masks}])(?:{alternatives})"


TOKEN_SPECS["masked_swear"] = _masked_swear_regex(MASKABLE_SWEARS)

# --------------------------------------------------------------------------------------------
# The cue rules, one block per label
# --------------------------------------------------------------------------------------------

L = CueLabel

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
          "contact|contacting|call|calling|email|emailing|write|writing|complain|complaining|escalate to? the? "
          "headquarters|hq|corporate",
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
          "leaving|left you|u|ur|your"),
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
          "yet|once again", "again and again", "time and time again", "over and over again?", "here we go again"),
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
          not_before={"better", "worse", "faster", "slower", "more", "less", "cheaper", "bigger", "smaller", "as",
                      "the", "higher", "lower", "over"}),
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
          "follow|following|followed up"),
)

WAITING = (
    _rule(L.waiting_time, "duration", 0.55,
          "customer states how long this has taken: waiting time",
          "{QUALIFIER}* <num> working|business|whole|full? {UNIT} ago?",
          "{QUALIFIER}* <num_unit> ago?",
          "{QUALIFIER}* a|an {UNIT} ago?",
          "{QUALIFIER}* a? {FEW} of? working|business? {UNIT} ago?",
          "{QUALIFIER}* half an|a hour",
          negatable=False, not_after={"once", "twice", "per", "every", "each", "within", "in", "next"},
          not_before={"of", "away", "early", "free", "trial", "left", "remaining", "before", "until", "ahead", "old",
                      "from", "later", "time"}),
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
          "no|zero|nil {AWAITED} yet|since|back?",
          "have|has|had|did|do|does not|never yet? {ARRIVE} back?",
          "yet to receive|hear|arrive|get|see|be",
          "where is|'s my|our <alpha>?",
          negatable=False),
)

BROKEN_PROMISE = (
    _rule(L.broken_promise, "you_said", 0.75,
          "customer quotes what the company said before: broken promise",
          "you|u|your|ur {PROMISE_VERB}",
          not_after={"if", "whatever"}),
    _rule(L.broken_promise, "they_said", 0.5,
          "customer quotes what staff or the website said before: possible broken promise",
          "{PROMISER} {PROMISE_VERB}",
          not_after={"if", "whatever"}),
    _rule(L.broken_promise, "promised", 0.8,
          "customer was promised something: broken promise",
          "promised|guaranteed|assured", "broken|false|empty promise|promises"),
    _rule(L.broken_promise, "promise_noun", 0.6,
          "customer holds the company to a promise: broken promise",
          "promise|promises|guarantee|assurance|assurances",
          not_after={"i", "we", "can", "please", "pinky"}),
    _rule(L.broken_promise, "was_told", 0.75,
          "customer was told something that did not happen: broken promise",
          "i|we|they|he|she|you? was|were|been|being|am|are|get|got|keep {TOLD}",
          "told|promised|assured me|us {TOLD_WHAT}",
          not_before={"to"}),
    _rule(L.broken_promise, "supposed_to", 0.7,
          "something did not happen as it was supposed to: broken promise",
          "supposed|meant to",
          not_after={"i", "we", "am", "are", "you", "u"}, not_before={"say", "ask", "mention", "write", "type"}),
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
          "mother fucker|fuckers|fucking", "what the f|fk|eff", "f off", "piss off", "sod off",
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
    {L.negative_emotion, L.waiting_time, L.repeated_contact, L.broken_promise, L.churn_threat,
     L.escalation_demand, L.regulator_mention, L.profanity}
)

#: Words that, near praise, mark it as sarcastic even when VADER has no valence for them.
NEGATIVE_CONTEXT_WORDS = frozenset(
    {"late", "delayed", "delay", "delays", "cancelled", "canceled", "down", "outage", "broken", "crashed", "crashing",
     "crashes", "missing", "lost", "wrong", "useless", "still", "again", "hold", "waiting", "rude", "overcharged",
     "stuck", "fault", "faulty", "error", "failed", "fail", "disconnected", "dropped", "ignored", "ignoring", "lied",
     "nope", "worst", "queue", "queues", "waited", "unable", "offline", "glitch", "bug", "bugs"}
)

SARCASM_CONTEXT_WINDOW = 12  # tokens either side of the praise


# --------------------------------------------------------------------------------------------
# Negative emotion (VADER) and intensity
# --------------------------------------------------------------------------------------------

#: VADER scores these negative, but in a service conversation they name an action, not a feeling
#: ("how do I pay", "please cancel the order"); negators are syntax, handled by negation.py.
VADER_IGNORED = frozenset(
    {"no", "pay", "cancel", "cancels", "cancelled", "canceled", "cancelling", "canceling", "leave", "charge", "charges",
     "sorry"}
)

VADER_MAX_VALENCE = 4.0  # VADER's lexicon runs from -4 to +4

#: Words written in capitals by convention, so not shouting.
ACRONYMS = frozenset(
    {"fca", "bbb", "usa", "uk", "us", "eu", "atm", "pin", "ceo", "tv", "dm", "dms", "id", "usb", "lol", "omg", "wtf",
     "ffs", "smh", "idk", "tbh", "imo", "imho", "fyi", "btw", "asap", "rip", "ama", "pm", "am", "eta", "faq", "nhs",
     "bbc", "itv", "cnn", "hbo", "espn", "ups", "dhl", "usps", "tnt", "dpd", "hsbc", "rbs", "tsb", "bt", "ee",
     "isp", "sim", "gps", "pdf", "url", "wifi", "hdmi", "dvd", "sms", "mms", "lte", "vpn", "api", "ios", "os", "pc",
     "imei", "ssn", "vat", "gbp", "usd", "eur", "cad", "aud", "utc", "gmt", "bst", "est", "pst", "cst", "mst", "edt",
     "pdt", "nyc", "lax", "jfk", "lhr", "lgw", "tsa", "faa", "ftc", "fcc", "cfpb", "caa", "orr", "ico", "cma", "asa",
     "gdpr", "klm", "ba", "dvla", "hmrc", "dwp", "irs", "dmv", "nfl", "nba", "aol", "ibm", "hp", "lg", "asos", "ikea",
     "anz", "cibc", "rbc", "pnc", "usaa", "aaa", "aarp", "diy", "xbox", "ps", "tfl", "lner", "gwr", "swr", "sncf",
     "cfo", "hr", "it", "ai", "ok", "okay", "gb", "mb", "kb", "tb", "hd", "uhd", "led", "lcd", "oled", "ssd",
     "cpu", "gpu", "ram", "nfc", "otp", "sso", "mfa", "cvv", "iban", "bic", "paypal", "aa", "ual", "sas",
     "jal", "ana", "nasa", "fbi", "cia", "mot", "rac", "rspca", "dfs", "mfi", "ocado", "argos", "qvc", "rsvp", "pnr",
     "dob", "po", "bogo", "bogof", "ootd", "iirc", "afaik", "tldr", "nsfw", "irl", "lmao", "lmfao", "rofl", "brb",
     "ttyl", "jk", "np", "thx", "pls", "plz", "xo", "xx", "xxx", "ikr", "nvm", "tba", "tbc", "tbd", "fomo", "yolo",
     "aws", "gcp", "sql", "html", "css", "ssl", "dns", "ip", "lan",
     "wan", "adsl", "vdsl", "fttp", "fttc", "mifi", "esim", "apn", "ussd", "kyc", "aml", "psd", "emi", "apr", "isa",
     "ppi", "dd", "so", "ebay", "jcb", "amex", "mbna", "dbs", "ocbc", "uob", "ing", "abn", "bnp", "sbi", "icici",
     "hdfc", "axis"}
)

#: Runs of at least this many "!"/"?" count as intensity ("!!", "?!", "???").
PUNCT_RUN_MIN = 2


# --------------------------------------------------------------------------------------------
# Case references (entities.py)
# --------------------------------------------------------------------------------------------

#: The word that introduces a reference, and the entity label the reference gets.
REFERENCE_KEYWORDS: dict[str, str] = {
    "order": "ORDER_NUMBER", "orders": "ORDER_NUMBER", "ord": "ORDER_NUMBER", "invoice": "ORDER_NUMBER",
    "account": "ACCOUNT_NUMBER", "acct": "ACCOUNT_NUMBER", "acc": "ACCOUNT_NUMBER", "customer": "ACCOUNT_NUMBER",
    "membership": "ACCOUNT_NUMBER", "card": "ACCOUNT_NUMBER", "policy": "ACCOUNT_NUMBER",
    "ticket": "TICKET_NUMBER", "case": "TICKET_NUMBER", "complaint": "TICKET_NUMBER", "incident": "TICKET_NUMBER",
    "claim": "TICKET_NUMBER", "ref": "REFERENCE_NUMBER", "reference": "REFERENCE_NUMBER",
    "booking": "REFERENCE_NUMBER", "confirmation": "REFERENCE_NUMBER", "tracking": "REFERENCE_NUMBER",
    "pnr": "REFERENCE_NUMBER", "parcel": "REFERENCE_NUMBER", "consignment": "REFERENCE_NUMBER",
}

#: Filler between the keyword and the identifier: "order no. 123", "account ending in 1234".
REFERENCE_CONNECTORS = frozenset(
    {"#", "no", "no.", ".", "num", "number", "nr", "id", ":", "is", "ending", "in", "-", "=", "ref", "reference",
     "code", "#:", "n", "°", "nº", "numbers", "was", "ends", "with"}
)

#: An identifier has at least three characters and at least one digit ("12345", "ABC-123456").
REFERENCE_ID_REGEX = r"^(?=[A-Za-z0-9\-/]*\d)[A-Za-z0-9][A-Za-z0-9\-/]{2,}$"

#: spaCy NER labels that are case details; the rest (PERSON, GPE, CARDINAL...) are left out.
CASE_NER_LABELS = frozenset({"MONEY", "DATE", "TIME", "ORG", "PRODUCT"})
