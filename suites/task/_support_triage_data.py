"""Deterministic generator for the ``support_triage`` task suite data.

Why this data is generated
--------------------------
The ``support_triage`` suite asks a model to read one customer-support ticket and return
its category, its priority and a one-sentence summary. Public ticket datasets carry unclear
licences, real people's data and noisy labels, so this module writes every ticket from
templates authored for finegate, filled with invented slot values (brand names, customers,
amounts, order numbers, error codes). Because each ticket is built from a scenario whose
category and priority are chosen first, the labels are correct by construction, and the file
can be rebuilt byte-for-byte at any time with::

    python suites/task/_support_triage_data.py

Products (all fictitious): Tallyfern (accounting SaaS), Brightwick (smart-home hub and
sensors, shipped physically), Cinderlane (video streaming app), Burrowdrive (cloud storage)
and Strideloom (fitness watch, shipped physically). ``shipping`` tickets exist only for the two
physical products.

Categories (exactly one per ticket, decided by what the customer wants done)
----------------------------------------------------------------------------
``billing`` (charges, double charges, invoices, refund of a charge, wrong plan price, failed
card payment), ``account_access`` (log-in, password reset mails, 2FA, locked account, SSO,
someone else in the account), ``technical_issue`` (the product malfunctions, or a how-does-it
-behave question about it), ``shipping`` (hardware order delivery, wrong or damaged item,
tracking, delivery address), ``feature_request`` (a capability the product does not have) and
``cancellation`` (cancel a subscription or trial, close the account, stop auto-renewal,
downgrade to a free tier).

Priority rule (applied in this order; the first rule that matches wins)
------------------------------------------------------------------------
1. ``urgent``: the ticket states at least one of
   (a) a security problem: someone else has accessed or changed the account;
   (b) a safety problem: a device is overheating, smells of burning, swells or cannot be
       turned off while heating a room;
   (c) money being taken repeatedly right now (charges still coming in);
   (d) business/production impact right now: a whole team, office or the customer's own
       customers are blocked today.
2. ``high``: not urgent, and the customer says they personally cannot use the product at all
   (no workaround), or states a deadline within about 48 hours (tonight, tomorrow, the day after
   tomorrow).
3. ``medium``: not high, and there is a real problem (something broken, wrong, missing, or
   that the customer could not do themselves), or a stated time frame of about a week; this
   includes problems reported with an explicit workaround or an explicit "not urgent". A feature
   request is medium when the customer says its absence costs them recurring manual work now.
4. ``low``: everything else: questions, how-to and information requests, feature ideas and
   plain requests (e.g. a cancellation) with no time pressure, typically "no rush" or "whenever
   you get a chance".

Tone, anger, exclamation marks and capital letters never change the priority; only the cues
above do. Every template below is written so that its priority cue is explicit in the text.

Output
------
``support_triage/tickets.jsonl``: one JSON object per line with keys ``id``, ``split``,
``input``, ``references`` (one JSON string holding category, priority and summary),
``labels``, ``tags`` and ``metadata``. About 15% of tickets get deterministic typos (never in
product names, order numbers or other proper nouns); tickets that contain an invented
``example.com``/``example.org`` address or a fictional 555-01xx phone number are tagged
``contains_contact``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_N = 420
DEFAULT_SEED = 20261122
OUTPUT_PATH = Path(__file__).resolve().parent / "support_triage" / "tickets.jsonl"

CATEGORIES = (
    "billing",
    "account_access",
    "technical_issue",
    "shipping",
    "feature_request",
    "cancellation",
)
PRIORITIES = ("low", "medium", "high", "urgent")

# Share of each (category, priority) cell for the default n=420; scaled for other n.
QUOTAS: dict[str, dict[str, int]] = {
    "billing": {"urgent": 12, "high": 20, "medium": 28, "low": 15},
    "account_access": {"urgent": 13, "high": 22, "medium": 24, "low": 14},
    "technical_issue": {"urgent": 16, "high": 24, "medium": 30, "low": 10},
    "shipping": {"urgent": 4, "high": 16, "medium": 26, "low": 14},
    "feature_request": {"medium": 17, "low": 50},
    "cancellation": {"high": 18, "medium": 22, "low": 25},
}

TONES = ("polite", "neutral", "angry", "terse", "rambling", "non_native")
TONE_WEIGHTS = (25, 21, 13, 15, 12, 14)
CHANNELS = ("email", "chat", "web_form")
CHANNEL_WEIGHTS = (45, 25, 30)
TYPO_RATE = 0.15
CONTACT_RATE = 0.09
MAX_JACCARD = 0.8  # generation threshold; the brief only requires < 0.9

# --------------------------------------------------------------------------------------------
# Products (all invented)
# --------------------------------------------------------------------------------------------

PRODUCTS: dict[str, dict] = {
    "tallyfern": {
        "name": "Tallyfern",
        "physical": False,
        "prefix": "TF",
        "app": "the Tallyfern web app",
        "plans": [("Solo", 12.0), ("Team", 39.0), ("Practice", 89.0)],
        "team_plans": ["Team", "Practice"],
        "free_tier": "the free plan",
        "errors": ["TF-502", "TF-1043", "TF-311", "E-BANK-07", "TF-2290"],
        "things": "invoices and client records",
        "team_task": "send invoices or record payments",
        "intruder": "new invoices being created in my name",
        "deadlines": [
            "I have to send invoices to three clients tomorrow morning",
            "my quarterly VAT return is due tomorrow",
            "my accountant needs last month's figures by tomorrow",
        ],
        "tried": ["clearing the browser cache", "using a different browser", "logging out and in"],
        "tech_q": [
            (
                "Does the bank feed in Tallyfern refresh automatically overnight, or do I have "
                "to press 'Refresh' every time?",
                "whether the Tallyfern bank feed refreshes automatically overnight",
            ),
            (
                "When I edit an invoice that was already sent, does Tallyfern keep the old "
                "version somewhere?",
                "whether Tallyfern keeps old versions of edited invoices",
            ),
        ],
        "features": [
            (
                "export reports as Excel files",
                "Excel export for reports",
                "send them straight to my accountant",
                "copy every report into a spreadsheet by hand",
                "Excel export of reports",
            ),
            (
                "send invoices in more than one currency",
                "multi-currency invoicing",
                "bill my clients abroad in their own currency",
                "make invoices for foreign clients in a separate tool",
                "multi-currency invoicing",
            ),
            (
                "create recurring invoices automatically",
                "recurring invoice templates",
                "stop rebuilding the same monthly invoices",
                "rebuild the same monthly invoices by hand",
                "recurring invoice templates",
            ),
            (
                "switch to a dark theme",
                "a dark mode",
                "work in the evenings without the bright screen",
                None,
                "a dark mode",
            ),
            (
                "pull in sales from my online shop",
                "an online shop integration",
                "have every sale recorded automatically",
                "type in every shop sale by hand",
                "an online shop integration",
            ),
        ],
    },
    "brightwick": {
        "name": "Brightwick",
        "physical": True,
        "prefix": "BW",
        "app": "the Brightwick Home app",
        "plans": [("Care", 4.99), ("Care Plus", 9.99)],
        "free_tier": "the free Basic tier",
        "errors": ["BW-E17", "BW-E04", "BW-E221", "HUB-09"],
        "things": "cameras and heating controls",
        "team_task": "",
        "intruder": "the camera settings and the door schedule being changed",
        "deadlines": [
            "we leave for a two-week trip tomorrow and want the house monitored while we're away",
            "a house sitter arrives tomorrow and needs to use the system",
        ],
        "tried": [
            "unplugging the hub for a minute",
            "restarting my router",
            "reinstalling the app",
        ],
        "devices": [
            ("Brightwick Hub 2", 129.0),
            ("Brightwick Thermo", 179.0),
            ("Brightwick Door Sensor", 29.0),
            ("Brightwick Hub Mini", 79.0),
        ],
        "sensors": ["Brightwick Door Sensor", "Brightwick Motion Sensor", "Brightwick Thermo"],
        "colours": ["white", "charcoal"],
        "parts": ["power adapter", "wall-mount screws", "USB cable"],
        "damage": ["the mounting plate is snapped in two", "the front cover is badly scratched"],
        "tech_q": [
            (
                "Is it normal that the ring on the Brightwick hub glows blue for a few seconds "
                "every night around 3 am?",
                "whether the Brightwick hub's blue glow at night is normal",
            ),
            (
                "How many sensors can one Brightwick Hub 2 handle before I need a second hub?",
                "how many sensors a Brightwick Hub 2 supports",
            ),
        ],
        "features": [
            (
                "turn the heating down automatically when everyone has left the house",
                "location-based heating control",
                "save energy without thinking about it",
                "turn the heating down by hand every time we leave",
                "location-based heating control",
            ),
            (
                "switch lights on and off at random while we're on holiday",
                "a vacation lighting mode",
                "make the house look lived in",
                None,
                "a vacation lighting mode",
            ),
            (
                "show the room temperature in a home screen widget",
                "a home screen widget",
                "see the temperature without opening the app",
                None,
                "a home screen temperature widget",
            ),
            (
                "export the temperature history as a CSV file",
                "CSV export of temperature history",
                "compare our heating from month to month",
                "write down the readings every week",
                "CSV export of temperature history",
            ),
            (
                "give guests temporary access to the app",
                "temporary guest access",
                "let our cleaner check the door sensor",
                "text our cleaner the door status myself every visit",
                "temporary guest access",
            ),
        ],
    },
    "cinderlane": {
        "name": "Cinderlane",
        "physical": False,
        "prefix": "CL",
        "app": "the Cinderlane app",
        "plans": [("Basic", 7.99), ("Standard", 12.99), ("Family 4K", 18.99)],
        "free_tier": "the free plan with ads",
        "errors": ["CL-2204", "CL-118", "PLAY-43", "CL-3007"],
        "things": "profiles and watchlists",
        "team_task": "",
        "intruder": "two new profiles, and something is playing on a device I don't own",
        "deadlines": [
            "we're having friends over tomorrow night to watch the season finale",
            "I promised my kids a movie night tonight",
        ],
        "tried": ["restarting the TV", "reinstalling the app", "restarting the router"],
        "tech_q": [
            (
                "What internet speed do I need to watch Cinderlane in 4K?",
                "what internet speed Cinderlane needs for 4K",
            ),
            (
                "Do downloaded Cinderlane episodes on my phone ever expire if I stay offline?",
                "whether downloaded Cinderlane episodes expire while offline",
            ),
        ],
        "features": [
            (
                "skip intros automatically",
                "an auto-skip intro setting",
                "binge a series without reaching for the remote",
                None,
                "automatic intro skipping",
            ),
            (
                "download films on the laptop app",
                "offline downloads on laptops",
                "watch on the train",
                None,
                "offline downloads on laptops",
            ),
            (
                "lock each profile with its own PIN",
                "per-profile PINs",
                "keep the kids out of my profile",
                "check the kids' viewing history on my profile every evening",
                "per-profile PINs",
            ),
            (
                "make subtitles larger",
                "bigger subtitle sizes",
                "read them from the sofa",
                None,
                "larger subtitle sizes",
            ),
            (
                "watch in sync with friends in other cities",
                "a watch-party feature",
                "have movie nights with my sister abroad",
                None,
                "a watch-party feature",
            ),
        ],
    },
    "burrowdrive": {
        "name": "Burrowdrive",
        "physical": False,
        "prefix": "BD",
        "app": "the Burrowdrive desktop app",
        "plans": [("Plus 500 GB", 2.99), ("Max 3 TB", 9.99), ("Business", 15.0)],
        "team_plans": ["Business"],
        "free_tier": "the free 15 GB plan",
        "errors": ["SYNC-409", "BD-77", "UPL-500", "BD-1204"],
        "things": "files",
        "team_task": "open any of our shared folders",
        "intruder": "my files being shared to addresses I don't recognise",
        "deadlines": [
            "I have to share these files with a client tomorrow morning",
            "I need my presentation files for a meeting tomorrow",
        ],
        "tried": ["signing out and back in", "restarting my laptop", "reinstalling the app"],
        "tech_q": [
            (
                "Does the Burrowdrive desktop app keep syncing while my laptop is asleep?",
                "whether Burrowdrive keeps syncing while the laptop sleeps",
            ),
            (
                "If I delete a file on my phone, how long does it stay in the Burrowdrive bin?",
                "how long deleted files stay in the Burrowdrive bin",
            ),
        ],
        "features": [
            (
                "keep version history for longer than 30 days",
                "longer version history",
                "recover older drafts of my documents",
                "keep dated copies of every document myself",
                "longer version history",
            ),
            (
                "run on Linux",
                "a Linux desktop client",
                "sync my work computer",
                "upload files through the browser every day",
                "a Linux desktop client",
            ),
            (
                "put an expiry date on share links",
                "expiring share links",
                "stop old links staying open forever",
                "go through and delete old links by hand every month",
                "expiring share links",
            ),
            (
                "offer end-to-end encrypted folders",
                "end-to-end encrypted folders",
                "store client documents more safely",
                "encrypt files with a separate tool before every upload",
                "end-to-end encrypted folders",
            ),
            (
                "show folder sizes in the file list",
                "folder sizes in the file list",
                "see what is eating my storage",
                None,
                "folder sizes in the file list",
            ),
        ],
    },
    "strideloom": {
        "name": "Strideloom",
        "physical": True,
        "prefix": "SL",
        "app": "the Strideloom app",
        "plans": [("Coach", 6.99), ("Coach Plus", 11.99)],
        "free_tier": "the free Basic tier",
        "errors": ["E-31", "E-08", "SL-450", "E-112"],
        "things": "workout history",
        "team_task": "",
        "intruder": "the account email changed and a new follower who can see my routes",
        "deadlines": [
            "I'm running a half marathon the day after tomorrow and rely on it for pacing",
            "my new training plan starts tomorrow",
        ],
        "access_deadlines": [
            "my coach needs to see my training log by tomorrow",
            "my new training plan starts tomorrow",
        ],
        "tried": [
            "restarting the watch",
            "reinstalling the app on my phone",
            "turning Bluetooth off and on",
        ],
        "devices": [
            ("Strideloom S3", 199.0),
            ("Strideloom S3 Pro", 279.0),
            ("Strideloom Trail", 349.0),
            ("Strideloom Lite", 129.0),
        ],
        "sensors": [],
        "colours": ["black", "sand", "sage green", "navy"],
        "parts": ["charging cable", "spare strap"],
        "damage": ["the screen has a deep scratch", "the strap buckle is bent"],
        "tech_q": [
            (
                "How accurate is the Strideloom step count when I'm pushing a stroller? Should I "
                "wear the watch differently?",
                "how accurate Strideloom step counting is while pushing a stroller",
            ),
            (
                "Can I swim in the sea with my Strideloom, or is it only rated for pools?",
                "whether the Strideloom watch can be used for sea swimming",
            ),
        ],
        "features": [
            (
                "count laps when I swim in a pool",
                "lap counting for pool swims",
                "stop counting lengths in my head",
                None,
                "lap counting for pool swims",
            ),
            (
                "export workouts as GPX files",
                "GPX export",
                "load my runs into my training log",
                "copy my runs into my training log by hand after every run",
                "GPX export of workouts",
            ),
            (
                "support watch faces that I design myself",
                "custom watch faces",
                "put my kids' photo on the watch",
                None,
                "custom watch faces",
            ),
            (
                "show the app in a dark theme",
                "a dark mode in the app",
                "check my stats at night",
                None,
                "a dark mode",
            ),
            (
                "share workouts with my coach automatically",
                "automatic workout sharing with a coach",
                "let my coach see every session",
                "send my coach screenshots after every session",
                "automatic workout sharing with a coach",
            ),
        ],
    },
}
ALL = ("tallyfern", "brightwick", "cinderlane", "burrowdrive", "strideloom")
PHYSICAL = ("brightwick", "strideloom")
BUSINESS = ("tallyfern", "burrowdrive")

FIRST_NAMES = [
    "Mia", "Tomasz", "Aisha", "Rafael", "Keiko", "Dmitri", "Hannah", "Olu", "Priya", "Lars",
    "Sofia", "Mateo", "Grace", "Yusuf", "Ingrid", "Wen", "Fatima", "Noah", "Elif", "Bruno",
    "Leila", "Sven", "Amara", "Diego", "Nora", "Jonas", "Zainab", "Kofi", "Ana", "Pierre",
    "Ravi", "Marta", "Hugo", "Saoirse", "Tariq", "Lina", "Emil", "Rosa", "Kai", "Beatriz",
    "Oskar", "Yara", "Declan", "Mei", "Adebayo", "Greta", "Ibrahim", "Chloe", "Mattias", "Leona",
]  # fmt: skip
SURNAMES = [
    "Ferncastle", "Mardley", "Quillon", "Oakhurst", "Penvale", "Strand", "Voskuil", "Tarrow",
    "Lindqvar", "Brambell", "Okonma", "Castellane", "Whitford", "Nakarin", "Delrow",
]  # fmt: skip
CITIES = [
    "Leeds", "Porto", "Dayton", "Graz", "Utrecht", "Tampere", "Halifax", "Boise", "Cork",
    "Lyon", "Aarhus", "Brno",
]  # fmt: skip
FAR_CITIES = ["Montevideo", "Hanoi", "Reykjavik", "Perth", "Casablanca", "Winnipeg", "Osaka"]
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
RELATIVES = ["dad", "mum", "sister", "brother", "husband", "wife", "daughter", "son"]
OTHER_DEVICES = ["tablet", "work laptop", "old phone", "desktop computer"]
SCREENS = ["living room TV", "Android TV box", "laptop", "smart TV", "games console"]
CURRENCIES = [("$", "US dollars"), ("€", "euros"), ("£", "pounds")]
CURRENCY_NAMES = ["euros", "pounds", "US dollars", "Swiss francs"]
REASONS = [
    ("I don't use it enough anymore.", "because they no longer use it enough"),
    ("I'm moving abroad and won't need it there.", "because they are moving abroad"),
    ("We've switched to a different tool.", "because they switched to another tool"),
    ("I'm trying to cut down on subscriptions.", "to cut down on subscriptions"),
    ("", ""),
]

# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One ticket situation: its category, allowed priorities and text templates."""

    key: str
    category: str
    products: tuple[str, ...]
    priorities: tuple[str, ...]
    subjects: tuple[str, ...]
    cores: tuple[str, ...]
    terse: tuple[str, ...]
    summary: str
    cues: dict[str, tuple[str, ...]] = field(default_factory=dict)
    own: tuple[str, ...] = ()  # priorities whose cues come only from ``cues`` (no generic ones)
    kind: str = "problem"  # problem | question | request | urgent


def _sc(key: str, category: str, products: tuple[str, ...], priorities: str, **kw) -> Scenario:
    tup = {k: tuple(v) for k, v in kw.items() if isinstance(v, list)}
    cues = {p: tuple(v) for p, v in kw.get("cues", {}).items()}
    return Scenario(
        key=key,
        category=category,
        products=products,
        priorities=tuple(priorities.split()),
        subjects=tup["subjects"],
        cores=tup["cores"],
        terse=tup["terse"],
        summary=kw["summary"],
        cues=cues,
        own=tuple(kw.get("own", "").split()),
        kind=kw.get("kind", "problem"),
    )


SCENARIOS: list[Scenario] = [
    # ---------------------------------------------------------------- billing
    _sc(
        "double_charge", "billing", ALL, "medium high",
        subjects=["Charged twice for {plan} plan", "Double charge in {month}",
                  "Duplicate payment on my card", "Two identical charges from {product}"],
        cores=[
            "I was charged twice for my {product} {plan} plan in {month}: two payments of "
            "{price} on the same day. I only have one account, so one of them should be "
            "refunded.",
            "My bank statement shows two charges of {price} from {product} on {date}. I've "
            "only got the one {plan} subscription. Could you refund the duplicate?",
            "Looks like your system billed me twice this month. There are two {price} payments "
            "for {product} {plan}, both dated {date}. Please refund one of them.",
        ],
        terse=["Charged twice ({price} x2) for {product} {plan} on {date}. Refund one please.",
               "Double charge, {product} {plan}, {price} each, {month}. Need one refunded."],
        summary="Customer was charged twice for the {product} {plan} plan in {month} and wants "
        "one charge refunded.",
    ),
    _sc(
        "wrong_price", "billing", ALL, "medium high",
        subjects=["Wrong price charged", "{plan} plan charged at the wrong price",
                  "Why was I charged {price_high}?", "Incorrect amount on my bill"],
        cores=[
            "The {product} {plan} plan was advertised at {price} a month when I signed up, but "
            "on {date} I was charged {price_high}. Please refund the difference.",
            "I'm on {product} {plan}, which is {price} per month according to your pricing "
            "page and my confirmation email. This month's charge was {price_high}. Can you "
            "correct it and refund the extra?",
        ],
        terse=["{product} {plan} should be {price}/month, I was charged {price_high} on {date}. "
               "Refund the difference pls."],
        summary="Customer was charged {price_high} instead of the advertised {price} for the "
        "{product} {plan} plan.",
    ),
    _sc(
        "invoice_copy", "billing", ALL, "low high",
        subjects=["Invoice copy for {month}", "Need an invoice", "Request: {month} invoice"],
        cores=[
            "Could you send me a copy of the invoice for my {product} {plan} plan for {month}? "
            "I can't see it in my account and I'd like it for my records.",
            "Where can I download my {product} invoices? I'm looking for the one for {month} "
            "({plan} plan).",
        ],
        terse=["Please send the {month} invoice for my {product} {plan} plan.",
               "Need a copy of my {month} {product} {plan} invoice."],
        summary="Customer asks for a copy of the {month} invoice for their {product} {plan} "
        "plan.",
        cues={"high": ["My accountant needs it by tomorrow for my tax return, so it would be "
                       "great to have it today.",
                       "I have to hand it in with my expense report tomorrow morning."]},
        own="high",
        kind="question",
    ),
    _sc(
        "invoice_details", "billing", BUSINESS, "medium high",
        subjects=["Wrong company name on invoices", "Invoice needs VAT number",
                  "Please reissue {month} invoice"],
        cores=[
            "The invoices from {product} still show our old company name and no VAT number. "
            "Could you update the billing details and reissue the invoice for {month}?",
            "Our {month} invoice for the {product} {plan} plan is missing our VAT number, and "
            "our bookkeeper can't accept it like that. Please send a corrected one.",
        ],
        terse=["{month} {product} invoice has our old company name and no VAT number. Please "
               "reissue."],
        summary="Customer needs the {product} invoice for {month} reissued with their correct "
        "company details.",
        cues={
            "high": ["Our finance team needs the corrected invoice by tomorrow to close the "
                     "month.",
                     "We have to submit it with our expense claim tomorrow, so today would be "
                     "ideal."],
            "medium": ["There's no deadline yet; we just need it corrected before our next "
                       "quarterly filing.",
                       "Not urgent, but we'd like it sorted sometime this week."],
        },
        own="high medium",
    ),
    _sc(
        "failed_payment", "billing", ALL, "medium high",
        subjects=["Card payment failed", "Payment keeps failing", "Can't pay for {plan}"],
        cores=[
            "My card payment for the {product} {plan} plan failed on {date}, but the card works "
            "everywhere else and has enough funds. I've updated the card details twice and it "
            "still gets declined.",
            "Every time I try to pay for {product} {plan} I get 'payment declined'. My bank "
            "says they aren't blocking anything on their side.",
        ],
        terse=["Card declined for {product} {plan} since {date}. Card is fine. Help?"],
        summary="Customer's card payment for the {product} {plan} plan keeps failing although "
        "the card works elsewhere.",
        cues={
            "high": ["Now my account is suspended and I can't use {product} at all until the "
                     "payment goes through.",
                     "The account has been paused because of it, so I'm completely stuck."],
            "medium": ["The account still works for now, but I got a warning that it will be "
                       "paused in two weeks.",
                       "Nothing has been switched off yet, so it's not urgent, but I'd like to "
                       "pay properly."],
        },
        own="high medium",
    ),
    _sc(
        "accidental_annual", "billing", ALL, "medium high",
        subjects=["Charged for a year by mistake", "Refund annual charge",
                  "Meant to choose monthly"],
        cores=[
            "I meant to choose monthly billing but ended up being charged {annual} for a full "
            "year of {product} {plan} on {date}. Can you refund that charge and put me on "
            "monthly billing instead?",
            "On {date} I upgraded to {plan} and clicked the wrong option, so I paid {annual} "
            "for the annual {product} plan. I only wanted monthly. Please refund the {annual}.",
        ],
        terse=["Accidentally paid {annual} for annual {product} {plan}. Wanted monthly. "
               "Refund please."],
        summary="Customer was accidentally charged {annual} for an annual {product} {plan} plan "
        "and wants it refunded.",
    ),
    _sc(
        "order_refund", "billing", PHYSICAL, "medium high",
        subjects=["Refund for order {order}", "Charge not refunded",
                  "Still charged for {order}"],
        cores=[
            "My order {order} for a {device} was cancelled before it shipped (I have the "
            "confirmation email), but the {amount} charge is still on my card after ten days.",
            "Nothing has been refunded for order {order}. It was cancelled on {date} before "
            "dispatch, yet the {amount} for the {device} hasn't come back to my card.",
        ],
        terse=[
            "{product} order {order} ({device}) cancelled before shipping, {amount} still not "
            "refunded."
        ],
        summary="Customer's order {order} for a {device} was cancelled before shipping but the "
        "{amount} was not refunded.",
    ),
    _sc(
        "price_question", "billing", ALL, "low",
        subjects=["Question about my bill", "Price went up?", "{plan} price"],
        cores=[
            "I noticed my {product} {plan} plan went from {price} to {price_high} this month. "
            "Was there a price change I missed? Just trying to understand the bill.",
            "Quick billing question: my latest {product} receipt says {price_high} for {plan}, "
            "and I remember it being {price}. Has the price been updated?",
        ],
        terse=["Why is {product} {plan} {price_high} now instead of {price}?"],
        summary="Customer asks why their {product} {plan} plan price rose from {price} to "
        "{price_high}.",
        kind="question",
    ),
    _sc(
        "currency_question", "billing", ALL, "low",
        subjects=["Billing currency", "Can I pay in {currency_name}?",
                  "Change billing currency"],
        cores=[
            "Is it possible to have my {product} {plan} subscription billed in "
            "{currency_name}? My bank adds a fee for every foreign-currency payment.",
            "Can I switch the currency my {product} plan is billed in to {currency_name}?",
        ],
        terse=["Can {product} bill me in {currency_name}?"],
        summary="Customer asks whether their {product} subscription can be billed in "
        "{currency_name}.",
        kind="question",
    ),
    _sc(
        "repeated_charges", "billing", ALL, "urgent",
        subjects=["Charges keep coming!", "You are charging my card over and over",
                  "Multiple charges right now"],
        cores=[
            "Something is very wrong: {product} has charged my card {count} times since this "
            "morning, {price} each time, and another one came through while I was writing "
            "this.",
            "My banking app keeps pinging: {product} {plan} charges of {price}, {count} so far "
            "today and they are still coming in every hour or so.",
        ],
        terse=["{product} is charging my card again and again right now, {count} x {price} "
               "today and counting."],
        summary="Customer's card is being charged {price} repeatedly by {product} today, with "
        "new charges still appearing.",
        cues={"urgent": ["Please stop these charges immediately.",
                         "I need this stopped right now before my account is empty."]},
        own="urgent",
        kind="urgent",
    ),
    _sc(
        "business_suspended", "billing", BUSINESS, "urgent",
        subjects=["Account suspended although we paid", "Business account suspended",
                  "Suspended for non-payment - we paid!"],
        cores=[
            "Our {product} account was suspended this morning for 'non-payment', but the "
            "{month} invoice was paid by bank transfer on {date}. Now none of the {team} people "
            "in our office can {team_task}.",
            "We got locked out of our {product} {team_plan} account because your system thinks our "
            "payment failed. It didn't; we have the bank confirmation. Our whole team of {team} "
            "can't {team_task} today.",
        ],
        terse=["{product} suspended our paid account. {team} staff can't {team_task} today."],
        summary="Customer's {product} business account was suspended for non-payment despite "
        "payment, blocking their whole team.",
        cues={"urgent": ["Our clients are waiting, please reactivate it right away.",
                         "This is costing us business as we speak."]},
        own="urgent",
        kind="urgent",
    ),
    # ---------------------------------------------------------------- account_access
    _sc(
        "wrong_password", "account_access", ALL, "medium high",
        subjects=["Can't log in", "Password not accepted", "Login problem"],
        cores=[
            "I can't log in to {product}. It says my password is incorrect, but I'm sure it's "
            "right and I haven't changed it.",
            "Since {weekday} my {product} login keeps saying 'incorrect email or password'. "
            "I've typed it carefully several times and used my password manager.",
        ],
        terse=["{product} says wrong password but it's correct. Can't log in."],
        summary="Customer cannot log in to {product} because their password is rejected even "
        "though it is correct.",
        cues={
            "high": ["I'm completely locked out and can't get to any of my {things}."],
            "medium": ["I'm still logged in on my {other_device}, so I can get by for now."],
        },
    ),
    _sc(
        "reset_email", "account_access", ALL, "medium high",
        subjects=["Password reset email not arriving", "No reset email",
                  "Reset link never comes"],
        cores=[
            "I've requested a password reset for {product} {n} times now, but the email never "
            "arrives. It's not in spam or any other folder.",
            "The {product} 'forgot password' page says a reset link was sent, but nothing ever "
            "reaches my inbox. I've tried {n} times since yesterday.",
        ],
        terse=["{product} reset email never arrives, tried {n} times."],
        summary="Customer is not receiving {product} password reset emails after several "
        "attempts.",
        cues={
            "high": ["Without it I can't get into my account at all."],
            "medium": ["I'm still signed in on my {other_device}, so I can manage, but I'd "
                       "like to reset the password properly."],
        },
    ),
    _sc(
        "lost_phone_2fa", "account_access", ALL, "medium high",
        subjects=["Lost phone, can't do 2FA", "Two-factor code problem",
                  "New phone - locked out by 2FA"],
        cores=[
            "I lost my phone last week, and with it the authenticator app I used for "
            "{product}. Now I can't get past the two-factor code screen, and I never saved the "
            "backup codes.",
            "My old phone broke and the two-factor codes for {product} were on it. I have a "
            "new phone with the same number, but the login still asks for a code from the "
            "authenticator app.",
        ],
        terse=["Lost phone with {product} 2FA app, no backup codes. How do I get in?"],
        summary="Customer lost the phone with their {product} authenticator app and cannot "
        "complete two-factor login.",
        cues={
            "high": ["Until this is fixed I can't use {product} at all."],
            "medium": ["I'm still signed in on my {other_device}, so it's not critical, but I "
                       "need 2FA working on the new phone."],
        },
    ),
    _sc(
        "locked_account", "account_access", ALL, "medium high",
        subjects=["Account locked", "Locked out after login attempts", "Account is blocked"],
        cores=[
            "My {product} account got locked after too many login attempts. The message says "
            "to try again later, but it's been {hours} hours and it's still locked.",
            "I mistyped my password a few times and now {product} says my account is "
            "temporarily locked. That was {hours} hours ago.",
        ],
        terse=["{product} account locked {hours} hours ago, still locked."],
        summary="Customer's {product} account has stayed locked for {hours} hours after too many "
        "login attempts.",
        cues={
            "high": ["I can't access any of my {things} while it's locked."],
            "medium": ["I'm still logged in on my {other_device}, so it's not urgent."],
        },
    ),
    _sc(
        "sso_error", "account_access", BUSINESS, "medium high",
        subjects=["SSO login error {sso_error}", "Can't sign in with company SSO",
                  "Single sign-on not working for me"],
        cores=[
            "When I sign in to {product} with our company SSO I get error {sso_error} and end up "
            "back on the login page. My colleagues say it works fine for them.",
            "Single sign-on to {product} fails for my user only (error {sso_error}). Everyone else "
            "on my team can log in normally.",
        ],
        terse=["SSO to {product} fails with {sso_error} for me only, colleagues fine."],
        summary="Customer gets error {sso_error} when signing in to {product} with company SSO; "
        "colleagues are unaffected.",
        cues={
            "high": ["I'm completely stuck and can't do any work in {product}."],
            "medium": ["A colleague is covering my tasks, so I can wait a bit."],
        },
    ),
    _sc(
        "sms_code", "account_access", ALL, "medium high",
        subjects=["Verification code SMS not arriving", "No login code by text",
                  "SMS code missing"],
        cores=[
            "The verification code by text message never arrives when I log in to {product}. "
            "I've tried {n} times today and waited several minutes each time.",
            "{product} says it sent me a login code by SMS, but nothing comes through. Other "
            "texts arrive fine.",
        ],
        terse=["Login SMS code from {product} never arrives."],
        summary="Customer does not receive the SMS verification code needed to log in to "
        "{product}.",
        cues={
            "high": ["So I can't log in at all."],
            "medium": ["I can still use {product} on my {other_device} where I'm signed in."],
        },
    ),
    _sc(
        "old_email", "account_access", ALL, "medium high",
        subjects=["Lost access to my login email", "Change login email",
                  "Account under old work email"],
        cores=[
            "My {product} account is registered to my old work email, which was shut down when "
            "I changed jobs. I can't log in because every reset link goes to that address. How "
            "can I move the account to my new email?",
            "I can't log in to {product} anymore because the account uses an email address I "
            "no longer have access to.",
        ],
        terse=["Can't log in to {product}: account is on an old email I no longer have."],
        summary="Customer cannot log in to {product} because the account uses an old email "
        "address they no longer have.",
        cues={
            "high": ["I can't get to any of my {things} until this is fixed."],
            "medium": ["The app on my {other_device} is still signed in, so I'm not completely "
                       "stuck."],
        },
    ),
    _sc(
        "question_2fa_move", "account_access", ALL, "low",
        subjects=["Moving 2FA to a new phone", "Question about two-factor login",
                  "New phone next month"],
        cores=[
            "I'm getting a new phone next month. How do I move my {product} two-factor "
            "authentication over without getting locked out?",
            "What's the right way to transfer the {product} two-factor codes to a new phone? I "
            "don't want to lock myself out when I switch.",
        ],
        terse=["How do I move {product} 2FA to a new phone?"],
        summary="Customer asks how to move {product} two-factor authentication to a new phone.",
        kind="question",
    ),
    _sc(
        "question_shared_login", "account_access", ALL, "low",
        subjects=["Two people logged in?", "Shared login question",
                  "Logging in on two devices"],
        cores=[
            "Can my partner and I be logged in to the same {product} account at the same time, "
            "or do we each need our own login?",
            "Is it allowed to sign in to one {product} account on both my phone and my "
            "{other_device} at once?",
        ],
        terse=["Can two devices be logged in to one {product} account at once?"],
        summary="Customer asks whether one {product} account can be logged in on two devices "
        "at once.",
        kind="question",
    ),
    _sc(
        "question_stay_signed_in", "account_access", ALL, "low",
        subjects=["Stay signed in?", "Login session length", "Remember me option"],
        cores=[
            "Is there a way to stay signed in to {product} for longer? I have to log in again "
            "every few days. Not a problem, I'm just wondering if there's a setting.",
            "How long does a {product} login session last before I have to enter my password "
            "again?",
        ],
        terse=["How long do {product} logins stay active?"],
        summary="Customer asks whether and how they can stay signed in to {product} for longer.",
        kind="question",
    ),
    _sc(
        "intruder_login", "account_access", ALL, "urgent",
        subjects=["Someone else logged into my account", "Unknown login from {city_far}",
                  "Account hacked?"],
        cores=[
            "I just got an alert that someone signed in to my {product} account from "
            "{city_far}. It wasn't me, and now my recovery email has been changed.",
            "Someone else is in my {product} account right now. There's a login from "
            "{city_far} that I didn't make, and the recovery email is no longer mine.",
        ],
        terse=["Someone logged into my {product} account from {city_far}, not me. Recovery "
               "email changed."],
        summary="Customer reports an unknown person logged into their {product} account from "
        "{city_far} and changed the recovery email.",
        cues={"urgent": ["Please lock the account right now.",
                         "Please secure my account immediately."]},
        own="urgent",
        kind="urgent",
    ),
    _sc(
        "password_changed", "account_access", ALL, "urgent",
        subjects=["My password was changed - not by me", "Account taken over",
                  "Someone changed my password"],
        cores=[
            "My {product} password was changed an hour ago and I didn't do it. I'm still "
            "logged in on one device and I can see {intruder}.",
            "I got an email saying my {product} password was reset, but I never asked for "
            "that. Looking at the account on my {other_device} I can see {intruder}.",
        ],
        terse=["Someone changed my {product} password. I can see {intruder}."],
        summary="Customer's {product} password was changed by someone else, who is still active "
        "in the account.",
        cues={"urgent": ["Please block whoever this is immediately.",
                         "This is happening right now, please help."]},
        own="urgent",
        kind="urgent",
    ),
    _sc(
        "sso_outage", "account_access", BUSINESS, "urgent",
        subjects=["Nobody can sign in via SSO", "SSO down for whole company",
                  "Company-wide login failure"],
        cores=[
            "Since about {time} this morning nobody in our company can sign in to {product}. "
            "All {team} of us get error {sso_error} on the SSO page.",
            "Our entire office ({team} people) is locked out of {product}: the single sign-on "
            "page fails with error {sso_error} for everyone.",
        ],
        terse=["SSO to {product} broken for the whole company ({team} users), error {sso_error}."],
        summary="No one at the customer's company can sign in to {product} via SSO; everyone "
        "gets error {sso_error}.",
        cues={"urgent": ["Our work has completely stopped, please escalate this now.",
                         "Nobody can work today until this is fixed."]},
        own="urgent",
        kind="urgent",
    ),
    # ---------------------------------------------------------------- technical_issue
    _sc(
        "bank_feed", "technical_issue", ("tallyfern",), "medium high",
        subjects=["Bank feed not importing", "Error {error} on bank feed",
                  "Transactions missing since {date}"],
        cores=[
            "The bank feed in {product} stopped importing transactions on {date}. Every time I "
            "click 'Refresh' I get error {error}.",
            "No new bank transactions have come into {product} since {date}. The connection "
            "page shows error {error}.",
        ],
        terse=["{product} bank feed broken since {date}, error {error}."],
        summary="Customer's {product} bank feed stopped importing transactions and shows error "
        "{error}.",
        cues={
            "high": ["Without the feed I can't reconcile anything at all."],
            "medium": ["I can upload the bank statement as a CSV for now, so I'm not stuck."],
        },
    ),
    _sc(
        "reports_freeze", "technical_issue", ("tallyfern",), "medium high",
        subjects=["Reports tab freezes", "Blank page on reports", "Reports not loading"],
        cores=[
            "{product} freezes and then shows a blank page whenever I open the Reports tab, in "
            "both Chrome and Firefox.",
            "The profit and loss report in {product} never finishes loading; the spinner just "
            "keeps going and then the page goes white.",
        ],
        terse=["{product} Reports tab freezes, then blank page."],
        summary="Customer reports the {product} Reports tab freezes and shows a blank page.",
        cues={
            "high": ["I can't get any of my figures out, so I'm stuck."],
            "medium": ["The dashboard still shows the main numbers, so I can manage for now."],
        },
    ),
    _sc(
        "sensor_pairing", "technical_issue", ("brightwick",), "medium high",
        subjects=["New sensor won't pair", "{sensor} not found", "Pairing fails"],
        cores=[
            "My new {sensor} won't pair with the Brightwick hub. The light blinks orange and "
            "the app says 'Device not found' after a minute.",
            "I've tried to add a {sensor} to my Brightwick setup {n} times and pairing always "
            "times out.",
        ],
        terse=["{sensor} won't pair with hub, 'Device not found'."],
        summary="Customer's new {sensor} will not pair with their Brightwick hub.",
        cues={
            "high": ["It's the only sensor on our front door, so right now that door isn't "
                     "covered at all."],
            "medium": ["Everything else in the house still works, it's just this one sensor."],
        },
    ),
    _sc(
        "hub_firmware", "technical_issue", ("brightwick",), "medium high",
        subjects=["Hub stuck updating", "Firmware update frozen", "Hub offline after update"],
        cores=[
            "The Brightwick hub has been stuck on 'Updating firmware 43%' since last night and "
            "the app shows it as offline.",
            "After the update yesterday my Brightwick Hub 2 shows a solid red light and "
            "{app} says the hub is unreachable.",
        ],
        terse=["Brightwick hub stuck mid firmware update, offline."],
        summary="Customer's Brightwick hub is stuck mid firmware update and shows as offline.",
        cues={
            "high": ["None of my automations run while it's like this, so I can't use the "
                     "system at all."],
            "medium": ["The lights still work with the wall switches, so we're managing."],
        },
    ),
    _sc(
        "buffering", "technical_issue", ("cinderlane",), "medium high",
        subjects=["Constant buffering", "Videos keep stopping", "Buffering on {screen}"],
        cores=[
            "Videos on {product} keep buffering every few minutes on our {screen}, even though "
            "a speed test shows {mbps} Mbps.",
            "Everything on {product} stops to buffer after a couple of minutes. It's been like "
            "this for {days} days on the {screen}.",
        ],
        terse=["{product} buffering every few minutes on {screen}, {mbps} Mbps connection."],
        summary="Customer's {product} videos keep buffering on their {screen} despite a fast "
        "connection.",
        cues={
            "high": ["On the {screen} it's basically unwatchable at the moment."],
            "medium": ["It plays fine on my phone, so we can still watch something."],
        },
    ),
    _sc(
        "play_error", "technical_issue", ("cinderlane",), "medium high",
        subjects=["Error {error} when pressing play", "Nothing plays", "Playback error"],
        cores=[
            "{product} shows error {error} whenever I press play, on any title. Restarting the "
            "app and the {screen} didn't help.",
            "Since the last {product} update nothing plays on my {screen}: I just get error "
            "{error}.",
        ],
        terse=["{product}: error {error} on every title."],
        summary="Customer gets error {error} on every {product} title they try to play.",
        cues={
            "high": ["I can't watch anything at all right now."],
            "medium": ["The laptop still works, so it's only the {screen}."],
        },
    ),
    _sc(
        "desktop_sync", "technical_issue", ("burrowdrive",), "medium high",
        subjects=["Sync stuck", "Files not syncing", "Desktop app stuck on 'Syncing'"],
        cores=[
            "The Burrowdrive desktop app has been stuck on 'Syncing {n} files' for {days} days. "
            "New files from my laptop don't show up on the website.",
            "{product} stopped syncing on my laptop; the icon just spins and shows error "
            "{error} when I hover over it.",
        ],
        terse=["{product} desktop sync stuck for {days} days."],
        summary="Customer's {product} desktop app has stopped syncing files from their laptop.",
        cues={
            "high": ["None of my work files are reaching the cloud, so I'm stuck."],
            "medium": ["I can upload things through the website in the meantime."],
        },
    ),
    _sc(
        "upload_fail", "technical_issue", ("burrowdrive",), "medium high",
        subjects=["Large uploads fail", "Upload error {error}", "Uploads stop at 90%"],
        cores=[
            "Uploading anything bigger than {size} GB to {product} fails at about 90% with "
            "error {error}.",
            "Big video files (over {size} GB) never finish uploading to {product}. They get near "
            "the end and then show {error}.",
        ],
        terse=["{product} uploads over {size} GB fail at 90%, error {error}."],
        summary="Customer's {product} uploads larger than {size} GB fail near the end with "
        "error {error}.",
        cues={
            "high": ["I have no other way to get these files to the people who need them."],
            "medium": ["Smaller files work, so I'm splitting things up for now."],
        },
    ),
    _sc(
        "watch_sync", "technical_issue", ("strideloom",), "medium high",
        subjects=["Watch not syncing", "Workouts missing in app", "'Looking for watch'"],
        cores=[
            "My {device} stopped syncing workouts to the Strideloom app {days} days ago. The "
            "app just says 'Looking for watch'.",
            "My {device} won't connect to {app} anymore. It was fine until {weekday}, now it "
            "never finds the watch.",
        ],
        terse=["{device} not syncing to app for {days} days."],
        summary="Customer's {device} has stopped syncing workouts to the Strideloom app.",
        cues={
            "high": ["The watch is useless to me without the app, I can't see any of my "
                     "training."],
            "medium": ["The watch still records everything, I just can't see it on my phone."],
        },
    ),
    _sc(
        "watch_restarts", "technical_issue", ("strideloom",), "medium high",
        subjects=["Watch keeps restarting", "Random reboots", "Restarts during runs"],
        cores=[
            "Since the last update my {device} restarts by itself several times a day, usually "
            "when I start a run.",
            "My {device} reboots in the middle of workouts and the session is lost. It shows "
            "error {error} right before it restarts.",
        ],
        terse=["{device} reboots randomly since update, error {error}."],
        summary="Customer's {device} keeps restarting by itself, often during workouts.",
        cues={
            "high": ["I can't record a single workout at the moment."],
            "medium": ["Most of my runs still get saved, so I can live with it for a bit."],
        },
    ),
    _sc(
        "heart_rate", "technical_issue", ("strideloom",), "medium",
        subjects=["Heart rate readings wrong", "Strange heart rate numbers"],
        cores=[
            "The heart rate on my {device} sometimes jumps to over 190 while I'm sitting at my "
            "desk, then drops back to normal.",
            "My {device} shows heart rate spikes that make no sense, like 185 while I'm reading "
            "on the sofa.",
        ],
        terse=["{device} heart rate jumps to 190 at rest."],
        summary="Customer's {device} shows implausibly high heart rate readings while resting.",
        cues={"medium": ["I feel completely fine, it's clearly the sensor, so no emergency."]},
        own="medium",
    ),
    _sc(
        "tech_question", "technical_issue", ALL, "low",
        subjects=["Quick question", "Is this normal?", "Question about {product}"],
        cores=["{tech_q}", "I have a question about {product}: {tech_q}"],
        terse=["{tech_q}"],
        summary="Customer asks {tech_q_summary}.",
        kind="question",
    ),
    _sc(
        "office_outage", "technical_issue", ("tallyfern",), "urgent",
        subjects=["{product} down for our whole office", "Error {error} for everyone",
                  "Production down"],
        cores=[
            "{product} has been returning error {error} for everyone in our office since "
            "{time}. {team} of us can't create invoices or record payments, and month-end "
            "closes today.",
            "Nobody at our firm can use {product} right now: every page shows {error}. We have "
            "{team} staff sitting idle and clients waiting for invoices today.",
        ],
        terse=["{product} down for our entire office, error {error}, {team} people blocked."],
        summary="{product} returns error {error} for the customer's whole office, blocking "
        "invoicing today.",
        cues={"urgent": ["Please escalate this immediately.",
                         "We need someone on this right now."]},
        own="urgent",
        kind="urgent",
    ),
    _sc(
        "hub_overheating", "technical_issue", ("brightwick",), "urgent",
        subjects=["Hub very hot and burning smell", "Burning smell from device",
                  "Safety issue with hub"],
        cores=[
            "The {hub} is extremely hot to the touch and there's a burning plastic smell "
            "coming from it. I've unplugged it for now.",
            "There's a smell of burning from my {hub} and the case has gone slightly "
            "brown. I pulled the plug straight away.",
        ],
        terse=["{hub} very hot, burning smell. Unplugged it."],
        summary="Customer's {hub} became very hot and smelled of burning; they have "
        "unplugged it.",
        cues={"urgent": ["Is it safe to keep it in the house? Please advise right away.",
                         "This is a fire risk, I need an answer now."]},
        own="urgent",
        kind="urgent",
    ),
    _sc(
        "thermo_stuck", "technical_issue", ("brightwick",), "urgent",
        subjects=["Thermostat stuck on heating", "Can't turn heating off",
                  "Brightwick Thermo won't switch off"],
        cores=[
            "The Brightwick Thermo is stuck on heating and won't turn off from the app or the "
            "dial. It's already {temp}°C in the baby's room.",
            "My Brightwick Thermo ignores every command and keeps the heating on full. The "
            "bedroom is at {temp}°C and rising.",
        ],
        terse=["Brightwick Thermo stuck heating, won't turn off, {temp}°C in baby's room."],
        summary="Customer's Brightwick Thermo is stuck heating and cannot be switched off; the "
        "room is {temp}°C.",
        cues={"urgent": ["Please tell me right now how to force it off.",
                         "I need help immediately."]},
        own="urgent",
        kind="urgent",
    ),
    _sc(
        "watch_battery_swelling", "technical_issue", ("strideloom",), "urgent",
        subjects=["Watch battery swelling", "Watch got hot on my wrist", "Safety problem"],
        cores=[
            "The back of my {device} has started bulging and the watch got hot on my wrist "
            "during a run. I've taken it off.",
            "My {device} became painfully hot while charging and the case looks swollen.",
        ],
        terse=["{device} swollen and hot on my wrist. Took it off."],
        summary="Customer's {device} has a swollen case and became dangerously hot.",
        cues={"urgent": ["Is it dangerous? Please tell me what to do right away.",
                         "I'm worried it could catch fire, please respond urgently."]},
        own="urgent",
        kind="urgent",
    ),
    _sc(
        "bar_streams", "technical_issue", ("cinderlane",), "urgent",
        subjects=["Streams failing in our bar", "All screens down", "Business streaming down"],
        cores=[
            "We show {product} on the screens in our sports bar, and since {time} every stream "
            "fails with error {error}. The match starts in an hour and the place is full.",
            "Our café runs {product} on {team} screens for customers and none of them will "
            "play; all show {error}.",
        ],
        terse=["{product} down on all screens in our bar, error {error}, customers waiting."],
        summary="{product} streams fail with error {error} on all screens in the customer's "
        "venue, affecting their business.",
        cues={"urgent": ["We're losing customers right now.",
                         "Please help immediately, this is hurting our business tonight."]},
        own="urgent",
        kind="urgent",
    ),
    _sc(
        "team_folder_deleting", "technical_issue", ("burrowdrive",), "urgent",
        subjects=["Files disappearing from team folder", "Burrowdrive deleting our files",
                  "Shared folder emptying"],
        cores=[
            "{product} is deleting files from our shared team folder right now. {n} files "
            "vanished in the last hour for all {team} people in our office.",
            "Files in our company's shared {product} folder keep disappearing. Every few "
            "minutes more are gone, for everyone on the team.",
        ],
        terse=["{product} deleting files from our team folder right now, whole office "
               "affected."],
        summary="{product} is deleting files from the customer's shared team folder, affecting "
        "the whole office.",
        cues={"urgent": ["Please stop it immediately, we can't work.",
                         "This is an emergency for our business."]},
        own="urgent",
        kind="urgent",
    ),
    # ---------------------------------------------------------------- shipping
    _sc(
        "not_arrived", "shipping", PHYSICAL, "medium high",
        subjects=["Order {order} not arrived", "Where is my order?", "Delivery late"],
        cores=[
            "I ordered a {device} on {date} (order {order}). The estimated delivery was last "
            "{weekday}, but nothing has arrived and the tracking hasn't changed.",
            "My order {order} for a {device} still hasn't arrived. It was supposed to be here "
            "last {weekday}.",
        ],
        terse=["Order {order} ({device}) not delivered, was due last {weekday}."],
        summary="Customer's order {order} for a {device} has not arrived by the estimated "
        "delivery date.",
        cues={"medium": ["I'm not in a hurry, but I'd like to know where it is."]},
    ),
    _sc(
        "wrong_item", "shipping", PHYSICAL, "medium high",
        subjects=["Wrong item received", "Order {order} - wrong product",
                  "Not what I ordered"],
        cores=[
            "I ordered the {device} in {colour} (order {order}), but the box contained "
            "{wrong}. Can you send the right one?",
            "Order {order} arrived today with {wrong} inside instead of the {colour} {device} "
            "I paid for.",
        ],
        terse=["Order {order}: got {wrong}, ordered {colour} {device}."],
        summary="Customer received {wrong} instead of the {colour} {device} ordered in "
        "{order}.",
    ),
    _sc(
        "damaged_box", "shipping", PHYSICAL, "medium high",
        subjects=["Order arrived damaged", "Crushed box", "Damaged delivery {order}"],
        cores=[
            "My order {order} ({device}) arrived with the box crushed on one corner, and "
            "{damage}.",
            "The parcel with my {device} (order {order}) looked like it had been dropped from "
            "a height. Opening it, {damage}.",
        ],
        terse=["Order {order} ({device}) arrived crushed, {damage}."],
        summary="Customer's order {order} arrived in a crushed box with a damaged {device}.",
        cues={"medium": ["It still works, but I'd like a replacement."]},
    ),
    _sc(
        "tracking_stuck", "shipping", PHYSICAL, "medium high",
        subjects=["Tracking not updating", "Order {order} stuck", "Tracking says label created"],
        cores=[
            "The tracking for my {product} order {order} has said 'Label created' since {date}. "
            "Has it actually shipped?",
            "My tracking page for {product} order {order} hasn't updated in {days} days; it's "
            "stuck at 'In transit' in {city}.",
        ],
        terse=["Tracking for {product} order {order} not updated for {days} days."],
        summary="Tracking for the customer's {product} order {order} has not updated for "
        "several days.",
    ),
    _sc(
        "change_address", "shipping", PHYSICAL, "medium high",
        subjects=["Change delivery address", "Wrong address on order {order}",
                  "Please update shipping address"],
        cores=[
            "I just placed order {order} for a {device} and realised it's going to my old "
            "address in {city}. Can you change it to my new address before it ships?",
            "Could you update the delivery address on my {product} order {order}? I moved out of "
            "my {city} flat last month.",
        ],
        terse=["{product} order {order} going to old address in {city}, need it changed."],
        summary="Customer wants the delivery address for {product} order {order} changed from "
        "their old address in {city}.",
        cues={
            "high": ["The confirmation email says it ships tomorrow morning, so it needs "
                     "changing today."],
            "medium": ["The site says it ships in about a week, so there's a little time."],
        },
        own="high medium",
    ),
    _sc(
        "delivered_not_received", "shipping", PHYSICAL, "medium high",
        subjects=["Marked delivered but not received", "Order {order} missing",
                  "Parcel not here"],
        cores=[
            "Tracking for my {product} order {order} says delivered on {date}, but there's nothing "
            "at my door and the neighbours haven't seen it.",
            "The carrier marked my {device} (order {order}) as delivered, yet I never got it. "
            "I was home all day.",
        ],
        terse=["{product} order {order} marked delivered {date}, never received."],
        summary="Customer's {product} order {order} is marked as delivered but never reached them.",
    ),
    _sc(
        "missing_part", "shipping", PHYSICAL, "medium high",
        subjects=["Missing {part}", "Incomplete order {order}", "Something missing from box"],
        cores=[
            "My {device} (order {order}) arrived without the {part} in the box.",
            "{product} order {order} came today but the {part} is missing. Everything else is "
            "there.",
        ],
        terse=["{product} order {order}: no {part} in the box."],
        summary="Customer's {product} order {order} arrived without the {part}.",
        cues={"medium": ["I can borrow one for now, but please send the missing {part}."]},
    ),
    _sc(
        "delivery_question", "shipping", PHYSICAL, "low",
        subjects=["Delivery time question", "How long is delivery?", "Shipping to {city}"],
        cores=[
            "How long does delivery usually take to {city}? I'm thinking of ordering a "
            "{device}.",
            "Do you deliver to pick-up points, or only to home addresses? I'd like to order a "
            "{device} and I'm rarely home.",
        ],
        terse=["Delivery time to {city} for a {device}?"],
        summary="Customer asks about delivery options or times before ordering a {device}.",
        kind="question",
    ),
    _sc(
        "ship_date_question", "shipping", PHYSICAL, "low",
        subjects=["When will order {order} ship?", "Order status question"],
        cores=[
            "My {product} order {order} has shown 'processing' for a day. Roughly when will it "
            "ship?",
            "Could you tell me which carrier will deliver my {product} order {order} and "
            "roughly when?",
        ],
        terse=["When does {product} order {order} ship?"],
        summary="Customer asks when their {product} order {order} will ship.",
        kind="question",
    ),
    _sc(
        "bulk_business", "shipping", PHYSICAL, "urgent",
        subjects=["Bulk order {order} not delivered - installers waiting",
                  "Business order missing today", "Urgent: our bulk order"],
        cores=[
            "We ordered {team} units of the {device} (order {order}) for a company "
            "installation today. The technicians are on site now and the delivery hasn't "
            "arrived; the carrier just says 'in transit'.",
            "Our business order {order} ({team} x {device}) was guaranteed for this morning. "
            "Our whole team is waiting to start the rollout and nothing is here.",
        ],
        terse=["Bulk order {order} ({team} x {device}) missing, our team is waiting on site "
               "today."],
        summary="Customer's business order {order} of {team} {device} units has not arrived "
        "while their team waits today.",
        cues={"urgent": ["Every hour is costing us money, please escalate now.",
                         "Please find this shipment immediately."]},
        own="urgent",
        kind="urgent",
    ),
    # ---------------------------------------------------------------- cancellation
    _sc(
        "cancel_sub", "cancellation", ALL, "low medium high",
        subjects=["Cancel my subscription", "Cancellation", "Please cancel {plan}"],
        cores=[
            "Please cancel my {product} {plan} subscription. {reason}",
            "I'd like to cancel my {product} {plan} plan. {reason}",
            "I've decided to end my {product} subscription ({plan}). {reason}",
        ],
        terse=["Cancel my {product} {plan} subscription please. {reason}"],
        summary="Customer wants to cancel their {product} {plan} subscription {reason_summary}.",
        kind="request",
    ),
    _sc(
        "close_account", "cancellation", ALL, "low medium high",
        subjects=["Close my account", "Delete my account and data", "Account closure"],
        cores=[
            "I'd like to close my {product} account completely and have my data deleted.",
            "Please close my {product} account and remove all my personal data. {reason}",
        ],
        terse=["Close my {product} account and delete my data."],
        summary="Customer wants their {product} account closed and their data deleted.",
        cues={
            "high": ["My subscription would renew tomorrow, so please close it before then."],
            "medium": ["I'd like this done within the next week, please."],
        },
        own="high medium",
        kind="request",
    ),
    _sc(
        "stop_auto_renew", "cancellation", ALL, "low medium high",
        subjects=["Turn off auto-renewal", "Don't renew my plan", "Stop automatic renewal"],
        cores=[
            "Please turn off auto-renewal on my {product} {plan} plan. I want to keep it until "
            "the current period ends, but not renew.",
            "I don't want my {product} {plan} plan to renew automatically. Can you switch that "
            "off? I'll finish the current period.",
        ],
        terse=["Turn off auto-renew on {product} {plan}."],
        summary="Customer wants auto-renewal turned off for their {product} {plan} plan.",
        kind="request",
    ),
    _sc(
        "downgrade_free", "cancellation", ALL, "low medium high",
        subjects=["Downgrade to free", "Move me to the free tier", "Switch off paid plan"],
        cores=[
            "Can you move my {product} account from {plan} down to {free_tier}? I don't need the "
            "paid features anymore.",
            "I'd like to downgrade my {product} account from {plan} to {free_tier} and stop "
            "paying.",
        ],
        terse=["Downgrade {product} {plan} to {free_tier} please."],
        summary="Customer wants to downgrade from the {product} {plan} plan to {free_tier}.",
        kind="request",
    ),
    _sc(
        "cancel_trial", "cancellation", ALL, "low medium high",
        subjects=["Cancel free trial", "End my trial", "Don't convert my trial"],
        cores=[
            "I signed up for the free trial of {product} {plan} and want to cancel it before "
            "it turns into a paid plan.",
            "Please cancel my {product} {plan} trial. It's not for me.",
        ],
        terse=["Cancel my {product} {plan} trial before it becomes paid."],
        summary="Customer wants to cancel their {product} {plan} free trial before it becomes "
        "paid.",
        cues={
            "high": ["The trial ends tomorrow."],
            "medium": ["The trial ends in five days."],
            "low": ["There are still about three weeks left on the trial, so no rush."],
        },
        own="high medium low",
        kind="request",
    ),
    _sc(
        "sold_device", "cancellation", PHYSICAL, "low medium high",
        subjects=["Cancel {plan} - no longer have the device", "No longer need subscription",
                  "Cancel subscription"],
        cores=[
            "I sold my {device}, so I no longer need the {product} {plan} subscription. Please "
            "cancel it.",
            "I've given my {device} to my {relative} and won't be using {product} {plan} "
            "anymore. Could you cancel my subscription?",
        ],
        terse=["Sold my {device}, cancel {product} {plan} please."],
        summary="Customer no longer has their {device} and wants to cancel the {product} {plan} "
        "subscription.",
        kind="request",
    ),
    _sc(
        "cancel_team", "cancellation", BUSINESS, "low medium high",
        subjects=["Cancel our team plan", "Closing the business - cancel",
                  "Cancel {team_plan} for all users"],
        cores=[
            "Our small business is winding down, so we need to cancel the {product} {team_plan} "
            "plan for all {team} users.",
            "We're moving the whole team to another system and want to cancel our {product} "
            "{team_plan} subscription ({team} seats).",
        ],
        terse=["Cancel our {product} {team_plan} plan, all {team} seats."],
        summary="Customer wants to cancel their company's {product} {team_plan} plan for all "
        "{team} users.",
        kind="request",
    ),
    _sc(
        "cant_find_cancel", "cancellation", ALL, "medium high",
        subjects=["How do I cancel?", "Can't find cancel button", "Please cancel for me"],
        cores=[
            "I want to cancel my {product} subscription but I can't find how to do it anywhere "
            "in the app or on the website. Please cancel it for me.",
            "I've looked through every settings page and there's no cancel option for my "
            "{product} {plan} plan. Can you cancel it on your side?",
        ],
        terse=["Can't find how to cancel {product}. Please cancel it for me."],
        summary="Customer cannot find how to cancel their {product} subscription and asks "
        "support to do it.",
        kind="request",
    ),
]  # fmt: skip

# Feature requests are built from the products' feature lists with these phrasings.
FEATURE_CORES = (
    "Would it be possible for {product} to {feat_verb}? That way I could {feat_why}.",
    "Are there any plans to add {feat_noun} to {product}? It would let me {feat_why}.",
    "Feature request for {product}: {feat_noun}. I'd use it to {feat_why}.",
    "I really like {product}, but one thing I keep missing is {feat_noun}.",
    "Could you pass this on to your product team: it would help a lot if {product} could "
    "{feat_verb}, so I could {feat_why}.",
    "Is there any chance of getting {feat_noun} in {product}? I searched the help centre and "
    "couldn't find anything about it.",
    "Small suggestion from a long-time user: {feat_noun} would make {product} even better.",
    "My {relative} and I both use {product}, and we keep wishing it could {feat_verb}.",
    "Suggestion: it would be lovely if {product} could {feat_verb}. I'd love to {feat_why}.",
)
FEATURE_TERSE = (
    "Please add {feat_noun} to {product}.",
    "Any plans for {feat_noun} in {product}?",
    "{product} should {feat_verb}.",
)
FEATURE_SUBJECTS = (
    "Feature request: {feat_noun}",
    "Suggestion for {product}",
    "Idea: {feat_noun}",
    "Will you add {feat_noun}?",
    "Wishlist",
)
FEATURE_SCENARIO = Scenario(
    key="feature",
    category="feature_request",
    products=ALL,
    priorities=("low", "medium"),
    subjects=FEATURE_SUBJECTS,
    cores=FEATURE_CORES,
    terse=FEATURE_TERSE,
    summary="Customer requests {feat_summary} in {product}.",
    kind="request",
)

# Generic priority cues per category; a scenario's ``own`` priorities skip these.
GENERIC_CUES: dict[str, dict[str, tuple[str, ...]]] = {
    "billing": {
        "high": (
            "I need this money back by tomorrow, because my rent goes out of the same account.",
            "Please sort it out today or tomorrow at the latest; my account is nearly empty "
            "until payday.",
        ),
        "medium": (
            "It's not urgent, but I'd like it corrected before my next bill.",
            "No emergency, but please look into it sometime this week.",
        ),
        "low": ("No rush at all, whenever you get a chance.", "Just a question, nothing urgent."),
    },
    "account_access": {
        "high": (
            "I need to get back in quickly, because {access_deadline}.",
            "Please help today if you can: {access_deadline}.",
        ),
        "medium": (
            "It's not urgent, but I'd like it sorted sometime this week.",
            "I can manage for now, so it's not urgent, but I'd like it fixed.",
        ),
        "low": ("No rush, whenever you get a chance.", "Just curious, it's not urgent."),
    },
    "technical_issue": {
        "high": (
            "I need it working again soon, because {deadline}.",
            "Please fix it quickly: {deadline}.",
        ),
        "medium": (
            "It's not urgent, but it's annoying and I'd like it fixed.",
            "No emergency, I can live with it for a few days.",
        ),
        "low": ("No rush, just curious.", "Not a big deal, whenever you have a moment."),
    },
    "shipping": {
        "high": (
            "It's a birthday present for my {relative} and the party is tomorrow.",
            "I'm leaving on a long trip the day after tomorrow and need it before then.",
        ),
        "medium": (
            "It's not urgent, but please sort it out this week.",
            "No huge hurry, I'd just like it resolved.",
        ),
        "low": ("No rush at all, just planning ahead.", "Just a question, nothing urgent."),
    },
    "feature_request": {
        "medium": (
            "At the moment I have to {feat_work}, which costs me time every week.",
            "Without it I have to {feat_work}, which adds up to real time every week.",
        ),
        "low": (
            "No rush, just an idea.",
            "Not urgent at all, just a suggestion for the future.",
            "Whenever you get a chance, I'd be curious whether it's planned.",
        ),
    },
    "cancellation": {
        "high": (
            "It renews tomorrow, so please make sure it's cancelled before then.",
            "The renewal is tonight and I don't want to be charged for another period.",
        ),
        "medium": (
            "It renews in about a week, so I'd like it done before then.",
            "Please take care of it within the next few days.",
        ),
        "low": (
            "There's no rush; my current period still has a few weeks left.",
            "No hurry on this, whenever you get to it.",
        ),
    },
}
TERSE_CUES: dict[str, dict[str, tuple[str, ...]]] = {
    "billing": {"high": ("Need it back by tomorrow.",), "medium": ("Not urgent.",),
                "low": ("No rush.",)},
    "account_access": {"high": ("Need access by tomorrow.",), "medium": ("Not urgent.",),
                       "low": ("No rush.",)},
    "technical_issue": {"high": ("Need it working by tomorrow.",),
                        "medium": ("Not urgent, workaround for now.",), "low": ("No rush.",)},
    "shipping": {"high": ("Need it by tomorrow.",), "medium": ("Not urgent.",),
                 "low": ("No rush.",)},
    "feature_request": {"medium": ("Right now I have to {feat_work}.",),
                        "low": ("No rush.", "Just an idea.")},
    "cancellation": {"high": ("Renews tomorrow.",), "medium": ("Renews in a week.",),
                     "low": ("No rush.",)},
}  # fmt: skip

DETAILS: dict[str, tuple[str, ...]] = {
    "billing": (
        "My customer ID is {cust_id}.",
        "The card on file ends in {last4}.",
        "I can send a screenshot of the statement if that helps.",
    ),
    "account_access": (
        "I've tried both in the app and on the website.",
        "My customer ID is {cust_id}, in case that helps.",
        "Happy to verify my identity however you need.",
    ),
    "technical_issue": (
        "I've already tried {tried} and {tried2}.",
        "As far as I know nothing else has changed on my side.",
        "Happy to send screenshots if that helps.",
    ),
    "shipping": (
        "I paid for standard delivery.",
        "The delivery address is in {city}.",
        "My customer ID is {cust_id}.",
    ),
    "feature_request": (
        "Otherwise I really enjoy using {product}.",
        "I imagine other people would use this too.",
        "I've seen something similar in other apps and it works really well.",
    ),
    "cancellation": (
        "My customer ID is {cust_id}.",
        "Please send me a confirmation once done.",
        "Thanks for the service over the years.",
    ),
}

GREETINGS: dict[str, tuple[str, ...]] = {
    "polite": ("Hello,", "Hi there,", "Dear {product} support team,", "Good morning,"),
    "neutral": ("Hi,", "Hello,", ""),
    "angry": ("", "Hello.", "To whoever reads this:"),
    "terse": ("",),
    "rambling": ("Hi there!", "Hello and good afternoon,", "Hi {product} people,"),
    "non_native": ("Dear Sir or Madam,", "Hello team,", "Good day,"),
}
CHAT_GREETINGS = ("hi", "hello", "hey there", "Hi,")
OPENERS: dict[str, tuple[str, ...]] = {
    "polite": ("I hope you're well.", "I hope you can help me with something."),
    "angry": ("I'm really annoyed right now.", "I can't believe I have to write about this."),
    "non_native": ("I write to you about {product}.", "I am writing for ask your help."),
}
RAMBLE: tuple[str, ...] = (
    "I've been with {product} for about {years} years and it's mostly been great.",
    "I'm not very technical, so please bear with me.",
    "My {relative} usually helps me with these things, but is away this week.",
    "I'm typing this on my phone between meetings, so sorry for any mess.",
    "I did look through the help pages first but couldn't find an answer.",
    "I hope this is the right place to write, there were a lot of options on the contact page.",
)
RAMBLE_END = (
    "Anyway, that's the main thing.",
    "Sorry, I know that was a long message.",
    "Sorry for going on, I wanted to give you the full picture.",
)
ANGRY_EXTRA: dict[str, tuple[str, ...]] = {
    "problem": (
        "Honestly, this is ridiculous.",
        "I'm really not impressed.",
        "This is not the service I signed up for.",
        "Seriously, how hard can this be?",
    ),
    "urgent": ("I'm absolutely furious about this.", "How does this even happen?"),
    "question": ("Your help pages are useless on this.", "Why is this so hard to find?"),
    "request": (
        "Honestly, I'm surprised this isn't already possible.",
        "I shouldn't have to write in for something this basic.",
    ),
}
CLOSERS: dict[str, tuple[str, ...]] = {
    "polite": ("Thanks so much for your help.", "Many thanks in advance.", "I appreciate it."),
    "neutral": ("Thanks.", "Thank you.", ""),
    "angry": ("I expect a proper answer.", "Sort it out.", ""),
    "terse": ("", "Thx."),
    "rambling": ("Thanks a lot for reading all this!", "Thanks, and have a nice weekend."),
    "non_native": (
        "Thank you for your help in advance.",
        "Please kindly help me.",
        "I am waiting your answer.",
    ),
}
SIGNOFFS = ("Best,\n{name}", "Cheers,\n{name}", "Regards,\n{name}", "- {name}", "{name}")
CONTACT_LINES = (
    "You can reach me at {email} if you need more details.",
    "My account email is {email}.",
    "If a call is easier, my number is {phone}.",
)
NON_NATIVE_REPLACEMENTS = (
    ("I can't", "I can not"),
    ("can't", "cannot"),
    ("doesn't", "does not"),
    ("don't", "do not"),
    ("didn't", "did not"),
    ("haven't", "have not"),
    ("isn't", "is not"),
    ("won't", "will not"),
    ("I've", "I have"),
    ("I'm", "I am"),
    ("I'd like", "I would like"),
    ("twice", "two times"),
    ("since last", "from last"),
    ("since this morning", "from this morning"),
    ("Could you", "Can you please"),
    (" the app ", " app "),
    ("nothing has arrived", "nothing is arrived"),
    ("It's not", "It is not"),
    ("right now", "in this moment"),
    ("for now", "for the moment"),
    ("a speed test shows", "speed test is showing"),
    ("Please cancel", "Please to cancel"),
)

# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


def _money(sym: str, value: float) -> str:
    return f"{sym}{value:.2f}"


def _word_count(text: str) -> int:
    return len(text.split())


def _split_for(ticket_id: str) -> str:
    bucket = int(hashlib.sha256(ticket_id.encode("utf-8")).hexdigest(), 16) % 100
    if bucket < 60:
        return "train"
    if bucket < 75:
        return "validation"
    return "test"


def _make_slots(rng: random.Random, slug: str, name: str) -> dict[str, str]:
    prod = PRODUCTS[slug]
    sym, _ = rng.choice(CURRENCIES)
    plan, price = rng.choice(prod["plans"])
    higher = [p for _, p in prod["plans"] if p > price]
    price_high = (
        rng.choice(higher) if higher and rng.random() < 0.5 else price + rng.choice([2.0, 3.0, 5.0])
    )
    devices = prod.get("devices") or [("", 0.0)]
    device, dev_price = rng.choice(devices)
    others = [d for d, _ in devices if d != device]
    colours = prod.get("colours") or ["black"]
    colour = rng.choice(colours)
    if others and rng.random() < 0.5:
        wrong = "a " + rng.choice(others)
    else:
        wrong = "the " + rng.choice([c for c in colours if c != colour] or ["grey"]) + " version"
    tried_a, tried_b = rng.sample(prod["tried"], 2)
    tech_q, tech_q_summary = rng.choice(prod["tech_q"])
    reason, reason_summary = rng.choice(REASONS)
    surname = rng.choice(SURNAMES)
    email = f"{name.lower()}.{surname.lower()}@{rng.choice(['example.com', 'example.org'])}"
    month = rng.choice(MONTHS)
    slots = {
        "product": prod["name"],
        "app": prod["app"],
        "plan": plan,
        "team_plan": rng.choice(prod.get("team_plans") or [plan]),
        "sso_error": rng.choice(["SSO-401", "SAML-12", "SSO-503", "IDP-7"]),
        "price": _money(sym, price),
        "price_high": _money(sym, price_high),
        "annual": _money(sym, round(price * 10, 2)),
        "amount": _money(sym, dev_price),
        "month": month,
        "date": f"{month} {rng.randint(1, 28)}",
        "weekday": rng.choice(WEEKDAYS),
        "order": f"{prod['prefix']}-{rng.randint(100000, 999999)}",
        "device": device,
        "hub": rng.choice(["Brightwick Hub 2", "Brightwick Hub Mini"]),
        "sensor": rng.choice(prod.get("sensors") or [device or prod["name"]]),
        "colour": colour,
        "wrong": wrong,
        "part": rng.choice(prod.get("parts") or ["charger"]),
        "damage": rng.choice(prod.get("damage") or ["the item is scratched"]),
        "error": rng.choice(prod["errors"]),
        "city": rng.choice(CITIES),
        "city_far": rng.choice(FAR_CITIES),
        "team": str(rng.randint(6, 40)),
        "count": str(rng.randint(4, 9)),
        "n": str(rng.randint(3, 7)),
        "hours": str(rng.randint(3, 30)),
        "days": str(rng.randint(2, 9)),
        "time": rng.choice(["8:30", "9 o'clock", "7:45", "10:15", "8 am"]),
        "temp": str(rng.randint(29, 33)),
        "mbps": str(rng.choice([80, 150, 250, 500, 900])),
        "size": str(rng.choice([2, 4, 5, 10])),
        "screen": rng.choice(SCREENS),
        "tried": tried_a,
        "tried2": tried_b,
        "deadline": rng.choice(prod["deadlines"]),
        "access_deadline": rng.choice(prod.get("access_deadlines") or prod["deadlines"]),
        "relative": rng.choice(RELATIVES),
        "other_device": rng.choice(OTHER_DEVICES),
        "years": str(rng.randint(2, 7)),
        "cust_id": f"C-{rng.randint(100000, 999999)}",
        "last4": str(rng.randint(1000, 9999)),
        "currency_name": rng.choice(CURRENCY_NAMES),
        "free_tier": prod["free_tier"],
        "things": prod["things"],
        "team_task": prod["team_task"],
        "intruder": prod["intruder"],
        "tech_q": tech_q,
        "tech_q_summary": tech_q_summary,
        "reason": reason,
        "reason_summary": reason_summary,
        "name": name,
        "email": email,
        "phone": f"+1 555 01{rng.randint(0, 99):02d}",
    }
    return slots


def _fill(template: str, slots: dict[str, str]) -> str:
    text = template.format_map(slots)
    text = re.sub(r"\s+([.,])", r"\1", re.sub(r"[ ]{2,}", " ", text)).strip()
    return text


def _pick_cue(rng: random.Random, sc: Scenario, priority: str, tone: str) -> str:
    own = list(sc.cues.get(priority, ()))
    if priority in sc.own:
        pool = own
    elif tone == "terse":
        pool = own + list(TERSE_CUES[sc.category].get(priority, ()))
    else:
        pool = own + list(GENERIC_CUES[sc.category].get(priority, ()))
    if not pool:
        raise ValueError(f"no cue for {sc.key}/{priority}")
    return rng.choice(pool)


def _non_native(rng: random.Random, text: str) -> str:
    for old, new in NON_NATIVE_REPLACEMENTS:
        if old in text and rng.random() < 0.75:
            text = text.replace(old, new)
    return text


def _compose(
    rng: random.Random,
    sc: Scenario,
    priority: str,
    tone: str,
    channel: str,
    slots: dict[str, str],
    with_contact: bool,
) -> tuple[str, str]:
    """Return (subject, body) for one ticket."""
    subject = _fill(rng.choice(sc.subjects), slots)
    if tone == "angry" and rng.random() < 0.5:
        subject += "!!"
    elif tone == "terse" and rng.random() < 0.5:
        subject = subject.lower()

    core_pool = sc.terse if tone == "terse" else sc.cores
    core = _fill(rng.choice(core_pool), slots)
    cue = _fill(_pick_cue(rng, sc, priority, tone), slots)

    if tone == "terse":
        closer = rng.choice(CLOSERS["terse"])
        body = " ".join(x for x in (core, cue, closer) if x)
        if channel == "email" and rng.random() < 0.5:
            body += "\n" + slots["name"]
        return subject, body

    first: list[str] = []
    second: list[str] = []
    if tone == "rambling":
        first.extend(_fill(s, slots) for s in rng.sample(RAMBLE, rng.choice([2, 3])))
    elif tone in OPENERS and rng.random() < 0.6:
        first.append(_fill(rng.choice(OPENERS[tone]), slots))
    first.append(core)

    detail_p = {"rambling": 1.0, "polite": 0.45}.get(tone, 0.3)
    skip_details = sc.kind in ("question", "urgent")
    if not skip_details and rng.random() < detail_p:
        k = 2 if tone in ("rambling", "polite") and rng.random() < 0.5 else 1
        second.extend(_fill(d, slots) for d in rng.sample(DETAILS[sc.category], k))
    if tone == "angry":
        second.extend(rng.sample(ANGRY_EXTRA[sc.kind], rng.choice([1, 2])))
    second.append(cue)
    if with_contact:
        second.append(_fill(rng.choice(CONTACT_LINES), slots))
    if tone == "rambling":
        second.append(rng.choice(RAMBLE_END))

    closer = _fill(rng.choice(CLOSERS[tone]), slots)
    if channel == "chat":
        greeting = rng.choice(CHAT_GREETINGS)
        lines = [greeting, " ".join(first), " ".join(second)]
        if closer:
            lines.append(closer)
        body = "\n".join(lines)
    else:
        greeting = _fill(rng.choice(GREETINGS[tone]), slots)
        if channel == "web_form" and rng.random() < 0.5:
            greeting = ""
        long_form = tone == "rambling" or rng.random() < 0.5
        if long_form:
            paras = [greeting, " ".join(first), " ".join(second), closer]
        else:
            paras = [greeting, " ".join(first + second), closer]
        if channel == "email" or rng.random() < 0.4:
            paras.append(_fill(rng.choice(SIGNOFFS), slots))
        body = "\n\n".join(p for p in paras if p)
    if tone == "non_native":
        body = _non_native(rng, body)
    return subject, body


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _length_tag(body: str) -> str:
    n = _word_count(body)
    if n <= 30:
        return "short"
    if n <= 75:
        return "medium"
    return "long"


def _plan(rng: random.Random, n: int) -> list[tuple[str, str]]:
    cells = [(c, p, q) for c in CATEGORIES for p, q in QUOTAS[c].items()]
    total = sum(q for _, _, q in cells)
    counts = [max(1, round(q * n / total)) for _, _, q in cells]
    while sum(counts) > n:
        counts[counts.index(max(counts))] -= 1
    while sum(counts) < n:
        counts[counts.index(min(counts))] += 1
    plan = [(c, p) for (c, p, _), k in zip(cells, counts, strict=True) for _ in range(k)]
    rng.shuffle(plan)
    return plan


_TYPO_SAFE = re.compile(r"^[a-z]{5,}$")


def _typo_word(rng: random.Random, word: str) -> str:
    op = rng.choice(["swap", "drop", "double"])
    i = rng.randint(1, len(word) - 2)
    if op == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == "drop":
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _inject_typos(rng: random.Random, body: str, vocab: set[str], protected: set[str]) -> str:
    tokens = re.split(r"(\s+)", body)
    candidates = []
    for idx, tok in enumerate(tokens):
        core = tok.strip(".,!?:;()'\"")
        if _TYPO_SAFE.match(core) and core not in protected:
            candidates.append(idx)
    k = min(len(candidates), 1 if len(candidates) < 20 else rng.choice([1, 2, 3]))
    for idx in sorted(rng.sample(candidates, k)):
        tok = tokens[idx]
        core = tok.strip(".,!?:;()'\"")
        for _ in range(10):
            new = _typo_word(rng, core)
            if new != core and new not in vocab:
                tokens[idx] = tok.replace(core, new, 1)
                break
    return "".join(tokens)


def generate_tickets(n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> list[dict]:
    """Build ``n`` labelled support tickets deterministically from ``seed``."""
    rng = random.Random(seed)
    plan = _plan(rng, n)
    by_cell: dict[tuple[str, str], list[Scenario]] = {}
    for sc in [*SCENARIOS, FEATURE_SCENARIO]:
        for p in sc.priorities:
            by_cell.setdefault((sc.category, p), []).append(sc)
    cursors: dict[tuple[str, str], int] = {}
    orders: dict[tuple[str, str], list[Scenario]] = {}
    for cell in sorted(by_cell):
        order = list(by_cell[cell])
        rng.shuffle(order)
        orders[cell] = order
        cursors[cell] = 0

    product_counts = dict.fromkeys(ALL, 0)
    drafts: list[dict] = []
    seen_words: list[set[str]] = []
    seen_inputs: set[str] = set()
    for category, priority in plan:
        cell = (category, priority)
        sc = orders[cell][cursors[cell] % len(orders[cell])]
        cursors[cell] += 1
        for _attempt in range(200):
            products = sc.products
            if sc.category == "feature_request" and priority == "medium":
                products = tuple(s for s in products if any(f[3] for f in PRODUCTS[s]["features"]))
            # Favour products that have been used less so far (keeps products roughly balanced).
            weights = [1.0 / (1 + product_counts[s]) ** 2 for s in products]
            slug = rng.choices(products, weights)[0]
            name = rng.choice(FIRST_NAMES)
            slots = _make_slots(rng, slug, name)
            if sc.category == "feature_request":
                feats = PRODUCTS[slug]["features"]
                if priority == "medium":
                    feats = [f for f in feats if f[3]]
                verb, noun, why, work, summ = rng.choice(feats)
                slots.update(
                    feat_verb=verb, feat_noun=noun, feat_why=why, feat_work=work or "",
                    feat_summary=summ,
                )  # fmt: skip
            tone = rng.choices(TONES, TONE_WEIGHTS)[0]
            channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
            with_contact = tone != "terse" and rng.random() < CONTACT_RATE
            subject, body = _compose(rng, sc, priority, tone, channel, slots, with_contact)
            text = f"Subject: {subject}\n\n{body}"
            words = _words(text)
            if text in seen_inputs or any(_jaccard(words, w) >= MAX_JACCARD for w in seen_words):
                continue
            break
        else:
            raise RuntimeError(f"could not find a distinct ticket for {sc.key}/{priority}")
        summary = _fill(sc.summary, slots)
        summary = summary[0].upper() + summary[1:]
        if _word_count(summary) > 20:
            raise ValueError(f"summary too long ({sc.key}): {summary}")
        product_counts[slug] += 1
        seen_inputs.add(text)
        seen_words.append(words)
        drafts.append(
            {
                "subject": subject,
                "body": body,
                "category": category,
                "priority": priority,
                "summary": summary,
                "slug": slug,
                "tone": tone,
                "channel": channel,
                "name": name,
                "contact": with_contact,
                "slots": slots,
            }
        )

    # Typos: a second pass so that a typo never produces a word used anywhere in the clean data.
    vocab: set[str] = set()
    for d in drafts:
        vocab |= {w.lower() for w in re.findall(r"[A-Za-z]+", d["subject"] + " " + d["body"])}
    tickets: list[dict] = []
    for i, d in enumerate(drafts, start=1):
        body = d["body"]
        typos = rng.random() < TYPO_RATE
        if typos:
            slots = d["slots"]
            protected = {
                w.lower()
                for key in ("product", "plan", "device", "sensor", "app", "free_tier", "name")
                for w in re.findall(r"[A-Za-z]+", slots.get(key, ""))
            }
            new_body = _inject_typos(rng, body, vocab, protected)
            typos = new_body != body
            body = new_body
        ticket_id = f"st-{i:04d}"
        tags = [
            f"product:{d['slug']}",
            f"tone:{d['tone']}",
            f"length:{_length_tag(d['body'])}",
        ]
        if typos:
            tags.append("typos")
        if d["contact"]:
            tags.append("contains_contact")
        reference = json.dumps(
            {"category": d["category"], "priority": d["priority"], "summary": d["summary"]},
            ensure_ascii=False,
        )
        tickets.append(
            {
                "id": ticket_id,
                "split": _split_for(ticket_id),
                "input": f"Subject: {d['subject']}\n\n{body}",
                "references": [reference],
                "labels": {"category": d["category"], "priority": d["priority"]},
                "tags": tags,
                "metadata": {
                    "product": PRODUCTS[d["slug"]]["name"],
                    "customer": d["name"],
                    "channel": d["channel"],
                },
            }
        )
    return tickets


def write_tickets(path: str | Path = OUTPUT_PATH) -> int:
    """Generate the default ticket set and write it as JSON Lines; return the ticket count."""
    tickets = generate_tickets()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(t, ensure_ascii=False, sort_keys=True) for t in tickets]
    with out.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
    return len(tickets)


def main() -> None:
    count = write_tickets(OUTPUT_PATH)
    print(f"wrote {count} tickets to {OUTPUT_PATH}")


if __name__ == "__main__":
    main()
