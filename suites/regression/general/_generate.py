"""Deterministic generator for the ``regression/general`` capability probe sets.

Why this data is generated
--------------------------
These four small probe sets are run through lm-eval (lm-evaluation-harness) as local YAML tasks
before and after fine-tuning, to catch catastrophic forgetting of general abilities in a small
chat model (SmolLM2-135M-Instruct class). Public benchmarks (MMLU, HellaSwag, ARC, PIQA, GSM8K,
BoolQ, SQuAD, IFEval, ...) are deliberately not used: their text may already sit in the
pre-training or fine-tuning data (contamination), their licences vary, and a regression probe
only needs *stable, correct, easy-to-medium* items, not a leaderboard. Every item below was
written for finegate, either by hand (the banks in this module) or by the seeded code that fills
those hand-written templates with invented names, objects and numbers. ``random.Random(20261122)``
drives every choice, so running::

    python suites/regression/general/_generate.py

rewrites the four JSONL files byte-for-byte identically (one ``json.dumps(obj,
ensure_ascii=False, sort_keys=True)`` per line, ``\\n`` line endings).

How each set is built, and why its labels are correct
-----------------------------------------------------
``commonsense_mc.jsonl``
    A hand-written bank of everyday-reasoning questions (physical, social, temporal, spatial,
    causal), each stored as *question, the one right answer, three wrong answers*. Person names
    are filled in from a pool. Because the right answer is stored separately from the
    distractors, the label is simply the slot where the generator places it: items are shuffled,
    the right answer of item ``i`` goes to position ``i % 4`` (so positions are balanced) and the
    distractors fill the other slots in a seeded random order.
``arithmetic.jsonl``
    Word-problem templates (shopping, travel, cooking, sport, school, ...), 15 per operation,
    for add, subtract, multiply, divide and two-step problems (30 each, so 20% are two-step).
    The generator draws the numbers first, writes them into the text as digits, and computes the
    answer from those same numbers (divisions are built as ``divisor * quotient`` so they are
    exact; subtractions keep the result positive; every result is below 1000). It asserts that
    the digits in the finished question are exactly the operands, so no stray number can change
    the problem.
``reading.jsonl``
    Hand-written passage templates about invented people, towns and events. Each template names,
    for every question it supports, the slot that holds the answer; the answer string is that
    slot's value, so it is copied from the passage by construction. Every template is written so
    that the asked-about slot is the only candidate of its kind that fits the question (e.g. a
    second person in the passage has a different role), people and towns in one passage are
    always distinct, and the generator asserts that the answer occurs exactly once in the passage.
``instructions.jsonl``
    Hand-written tasks (prose, bullet lists, JSON objects) combined with 1-3 machine-checkable
    constraints. Each constraint is stated in plain English in the prompt next to its check.
    Combinations that could contradict each other are never drawn (e.g. a case rule together
    with a fixed opening/closing phrase, ``min_words`` with ``max_words``, or a forbidden word that
    is part of the task text or of another required phrase).

Near-duplicates are rejected while generating: within a file, no two items may have a Jaccard
similarity of 0.7 or more between their lower-cased word sets (compared text: the question for
the multiple-choice and arithmetic sets, passage plus question for reading, the prompt for
instructions). For templated items the generator redraws the slot values until the bound holds;
for hand-written items it asserts it.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SEED = 20261122
OUT_DIR = Path(__file__).resolve().parent
MAX_JACCARD = 0.7

Item = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9']+")


def word_set(text: str) -> frozenset[str]:
    """Lower-cased word set used for the near-duplicate bound."""
    return frozenset(_WORD.findall(text.lower()))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def too_similar(words: frozenset[str], seen: Sequence[frozenset[str]]) -> bool:
    return any(jaccard(words, other) >= MAX_JACCARD for other in seen)


def write_jsonl(path: Path, items: Sequence[Item]) -> None:
    lines = [json.dumps(item, ensure_ascii=False, sort_keys=True) for item in items]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


FIRST_NAMES: tuple[str, ...] = (
    "Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Greta", "Hiro", "Isla", "Jonas",
    "Kemal", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tomas",
    "Uma", "Viktor", "Wen", "Yara", "Zane", "Leila", "Marco", "Ines", "Kwame", "Sofia",
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# 1. Commonsense multiple choice
# --------------------------------------------------------------------------------------------

# (topic, question, right answer, three wrong answers). "{name}" is filled from FIRST_NAMES;
# "{a}", "{b}" and "{c}" are three distinct names.
COMMONSENSE_BANK: tuple[tuple[str, str, str, tuple[str, str, str]], ...] = (
    # ---- physical ----
    ("physical", "{name} leaves a glass of water in the freezer overnight. What will {name} most "
     "likely find in the morning?", "The water has turned to ice.",
     ("The water has started to boil.", "The glass is full of sand.",
      "The water has turned into milk.")),
    ("physical", "Which of these objects would float in a bathtub full of water?",
     "A rubber duck", ("A steel hammer", "A brick", "A glass marble")),
    ("physical", "{name} wants to cut a sheet of paper neatly in half. Which tool should {name} "
     "use?", "Scissors", ("A spoon", "A pillow", "A sponge")),
    ("physical", "What happens to a chocolate bar left on a car dashboard on a hot summer day?",
     "It melts.", ("It freezes solid.", "It turns into bread.", "It grows larger.")),
    ("physical", "{name} drops a raw egg onto a stone floor. What most likely happens?",
     "The egg cracks and spills.",
     ("The egg bounces back up unharmed.", "The egg turns into a chick.",
      "The floor cracks but the egg stays whole.")),
    ("physical", "Which container will keep hot soup warm for the longest time?",
     "A closed insulated flask", ("An open shallow plate", "A colander", "A paper bag")),
    ("physical", "{name} pushes a heavy box and then a light box across the same carpet. Which "
     "one is harder to push?", "The heavy box",
     ("The light box", "They are exactly equally hard to push", "Neither box can be moved")),
    ("physical", "What is the best way to dry a wet towel quickly?",
     "Hang it up in a warm, breezy place",
     ("Fold it tightly and put it in a drawer", "Seal it inside a plastic bag",
      "Soak it in a bucket of water")),
    ("physical", "A balloon filled with helium is let go outdoors. What does it do?",
     "It rises into the sky.",
     ("It sinks into the ground.", "It falls straight down like a stone.",
      "It turns into water.")),
    ("physical", "Which of these is easiest to bend with your bare hands?", "A drinking straw",
     ("An iron bar", "A brick", "A thick marble slab")),
    ("physical", "{name} leaves a metal spoon standing in a pot of boiling soup for several "
     "minutes. What happens to the spoon's handle?", "It gets hot.",
     ("It becomes freezing cold.", "It turns to rubber.", "It disappears.")),
    ("physical", "What happens when you pour cooking oil into a glass of water?",
     "The oil floats on top of the water.",
     ("The oil sinks to the bottom and stays there.", "The oil turns the water into ice.",
      "The oil makes the glass disappear.")),
    ("physical", "{name} has to go down into a dark basement. What should {name} bring in order "
     "to see?", "A flashlight", ("A pair of sunglasses", "A bag of sugar", "An umbrella")),
    ("physical", "Which is heavier: a bucket full of water or the same bucket when it is empty?",
     "The full bucket",
     ("The empty bucket", "They weigh exactly the same",
      "The empty bucket, because air is heavier than water")),
    ("physical", "A snowman is built in the garden and the following week is sunny and warm. "
     "What most likely happens to it?", "It melts and shrinks.",
     ("It grows taller.", "It turns into a real person.", "It becomes harder and larger.")),
    ("physical", "{name} wants to carry soup to a friend's house without spilling it. Which "
     "container is best?", "A jar with a tight lid",
     ("A paper envelope", "A basket woven from straw", "A plate with no cover")),
    ("physical", "What happens when you put a dry sponge into a bowl of water?",
     "It soaks up water and gets heavier.",
     ("It becomes lighter and drier.", "It melts away.", "It catches fire.")),
    ("physical", "Which of these can a magnet pick up?", "A steel paperclip",
     ("A wooden pencil", "A plastic cup", "A rubber eraser")),
    ("physical", "{name} leaves an ice cube on a plate on a warm kitchen table. What is on the "
     "plate an hour later?", "A small puddle of water",
     ("A larger ice cube", "A pile of salt", "A cup of hot tea")),
    ("physical", "Which shoes are safest for walking on an icy pavement?",
     "Boots with a rough, grippy sole",
     ("Smooth-soled dress shoes", "Roller skates", "Bare feet")),
    ("physical", "{name} needs to reach a book on a high shelf. What can {name} safely stand on?",
     "A sturdy step stool",
     ("A soft beanbag", "A stack of loose pillows", "A cardboard box of eggs")),
    ("physical", "What happens to a slice of bread that is put in a toaster for a few minutes?",
     "It becomes warm and crispy.",
     ("It turns back into flour.", "It becomes wet and cold.", "It grows into a bigger loaf.")),
    ("physical", "A ball is placed at the top of a smooth slope and let go. What does it do?",
     "It rolls down the slope.",
     ("It rolls up into the air.", "It stays at the top forever.", "It turns into a cube.")),
    ("physical", "{name} stacks three heavy books on top of an empty paper cup. What is most "
     "likely to happen to the cup?", "It gets crushed.",
     ("It lifts the books into the air.", "It becomes taller.", "It turns into glass.")),
    ("physical", "Which of these would cool a hot drink fastest?", "Adding a few ice cubes",
     ("Putting it on a warm stove", "Wrapping it in a thick blanket", "Adding boiling water")),
    ("physical", "What happens to a sheet of paper held over a candle flame for too long?",
     "It catches fire.", ("It turns into metal.", "It becomes wetter.", "It freezes.")),
    # ---- social ----
    ("social", "{name} accidentally steps on a stranger's foot on a crowded bus. What is the "
     "polite thing to say?", "Sorry about that.",
     ("Congratulations!", "Happy birthday!", "You're welcome.")),
    ("social", "{name}'s friend has just got a job after months of searching. How is the friend "
     "most likely feeling?", "Happy and relieved",
     ("Angry and insulted", "Bored and sleepy", "Sad about finding work")),
    ("social", "{name} needs to ask the librarian a question in a quiet library. How should "
     "{name} speak?", "Quietly, so as not to disturb others",
     ("As loudly as possible", "By shouting across the room", "By singing the question")),
    ("social", "{name} receives a birthday present from an aunt. What is the appropriate "
     "response?", "Thank her for the present",
     ("Complain that it is too small", "Ignore her and leave the room",
      "Ask her why she bothered")),
    ("social", "{name} is running late for a meeting with a colleague. What is the considerate "
     "thing to do?", "Send a message saying they will be late",
     ("Say nothing and arrive an hour later", "Cancel without telling anyone",
      "Blame the colleague for arriving on time")),
    ("social", "Someone holds a door open for {name}. What does {name} usually say?",
     "Thank you.", ("Get out of my way.", "I'm sorry for your loss.", "Goodbye forever.")),
    ("social", "{name}'s elderly neighbour is struggling up the stairs with heavy shopping bags. "
     "What is a kind thing for {name} to do?", "Offer to carry some of the bags",
     ("Laugh at the neighbour", "Lock the door to the stairs",
      "Take the shopping home for themselves")),
    ("social", "{name} borrowed a friend's book and spilled coffee all over it. What should "
     "{name} do?", "Apologise and offer to replace it",
     ("Return it without saying anything", "Keep it and say it was lost",
      "Ask the friend to pay for the coffee")),
    ("social", "How are guests usually expected to behave at a funeral?",
     "Quietly and respectfully",
     ("Loudly and playfully", "By dancing on the tables", "By telling jokes about the dead")),
    ("social", "{name} sees a toddler crying alone in a shopping centre. What is the most "
     "responsible thing to do?", "Ask a security guard or staff member to help find the parents",
     ("Walk away and ignore the child", "Take the toddler home",
      "Tell the toddler to stop crying and leave")),
    ("social", "{name} is introduced to a new coworker for the first time. What is a normal "
     "greeting?", "Nice to meet you.",
     ("See you never.", "Why are you here?", "Please leave my office.")),
    ("social", "{name} beats a younger sibling at a board game, and the sibling looks upset. "
     "What is a kind thing to say?", "Good game, you played really well.",
     ("You will never win anything.", "That was too easy for me.",
      "I only play with people who can win.")),
    ("social", "{name}'s friend is talking about a difficult week. What shows that {name} is "
     "really listening?", "Nodding and asking follow-up questions",
     ("Looking at a phone the whole time", "Changing the subject to something else",
      "Walking away in the middle of a sentence")),
    ("social", "{name} is invited to a dinner party at a friend's home. What is a common polite "
     "gesture?", "Bringing a small gift such as flowers or dessert",
     ("Arriving two hours late without warning", "Bringing ten uninvited friends",
      "Criticising the host's cooking at the table")),
    ("social", "{name} is waiting in a long queue at the post office when someone walks in and "
     "goes straight to the front. How do the people in the queue most likely feel?", "Annoyed",
     ("Grateful", "Delighted", "Proud")),
    ("social", "{name}'s manager emails to ask for a report by Friday. What is a professional "
     "reply?", "Confirm that the report will be ready by Friday",
     ("Reply with a joke and never send it", "Forward the email to a stranger",
      "Tell the manager that Fridays do not exist")),
    ("social", "Two friends cannot agree on which film to watch together. What is a fair way to "
     "decide?", "Flip a coin or take turns choosing",
     ("The louder person always wins", "Stop being friends",
      "One friend hides the remote control forever")),
    ("social", "Just before a presentation, {name} notices that a coworker has spinach stuck in "
     "their teeth. What is the considerate thing to do?", "Tell the coworker quietly",
     ("Announce it to the whole room", "Take a photo and share it online",
      "Say nothing and laugh during the talk")),
    ("social", "A guest at {name}'s home says they feel cold. What should {name} offer?",
     "A blanket or a warmer seat",
     ("A glass of iced water", "An open window", "An electric fan")),
    ("social", "{name} forgot a close friend's birthday. What is the best thing to do once "
     "{name} remembers?", "Apologise and wish the friend a happy birthday",
     ("Pretend it never happened", "Wait until next year",
      "Blame the friend for not sending a reminder")),
    ("social", "A friend tells {name} a secret and asks {name} to keep it private. What should "
     "{name} do?", "Keep the secret", ("Post it online", "Tell everyone at school",
                                       "Write it on the classroom board")),
    ("social", "Which behaviour makes a good impression at a job interview?",
     "Arriving on time and dressed neatly",
     ("Arriving late in pyjamas", "Eating lunch during the interview",
      "Answering phone calls throughout")),
    ("social", "{name}'s teammate scores the winning goal in the last minute. How do the other "
     "players usually react?", "They cheer and celebrate.",
     ("They boo the teammate.", "They quit the team in protest.",
      "They ignore the goal and go home.")),
    ("social", "At a restaurant, the waiter brings {name} the wrong dish. What is a polite way "
     "to handle it?", "Calmly tell the waiter and ask for the right dish",
     ("Throw the dish on the floor", "Shout at the other diners", "Leave without paying")),
    ("social", "{name} hears that a classmate's dog has died. What is an appropriate thing to "
     "say?", "I'm sorry to hear about your dog.",
     ("Congratulations!", "That's great news.", "Now you can get a better pet.")),
    ("social", "At a party, {name} wants to join two people who are chatting. What is a polite "
     "way to do it?", "Wait for a pause and then say hello",
     ("Push between them and talk about yourself", "Tap them both on the head",
      "Turn off the music and shout")),
    # ---- temporal ----
    ("temporal", "{name} eats breakfast, then goes to work, then eats dinner. Which of these "
     "happened first?", "Breakfast",
     ("Work", "Dinner", "They all happened at the same moment")),
    ("temporal", "If today is Monday, what day will it be tomorrow?", "Tuesday",
     ("Sunday", "Wednesday", "Friday")),
    ("temporal", "If today is Thursday, what day was it yesterday?", "Wednesday",
     ("Friday", "Tuesday", "Saturday")),
    ("temporal", "Which usually takes longer: boiling an egg or growing an oak tree?",
     "Growing an oak tree",
     ("Boiling an egg", "They take exactly the same time", "Neither takes any time")),
    ("temporal", "{name} plants tomato seeds in spring. When will {name} most likely pick ripe "
     "tomatoes?", "In summer, a few months later",
     ("The same afternoon", "Ten years later", "The day before planting")),
    ("temporal", "A film starts at 7 pm and lasts two hours. When does it end?", "At 9 pm",
     ("At 5 pm", "At 7 pm", "At 2 pm")),
    ("temporal", "Which month comes right after March?", "April",
     ("February", "May", "January")),
    ("temporal", "{name} must be at the airport two hours before a 10 am flight. By what time "
     "must {name} arrive?", "8 am", ("12 noon", "10 am", "9 pm")),
    ("temporal", "What is the usual order for making a cup of tea with a tea bag?",
     "Boil water, pour it over the tea bag, then drink",
     ("Drink, then boil the water, then add the tea bag",
      "Pour cold water, drink it, then boil the kettle",
      "Drink from the empty cup, then add the tea bag")),
    ("temporal", "How long does a typical night's sleep last for an adult?",
     "About seven to nine hours", ("About ten minutes", "About three days", "About two weeks")),
    ("temporal", "A child was born in 2020. In which year does the child turn five?", "2025",
     ("2015", "2020", "2030")),
    ("temporal", "{name} puts a cake that needs 40 minutes into the oven and checks it after 5 "
     "minutes. What is the cake most likely like?", "Still mostly uncooked",
     ("Burnt to charcoal", "Fully baked and cooled", "Already eaten")),
    ("temporal", "Which season usually comes right after winter?", "Spring",
     ("Autumn", "Summer", "Winter again")),
    ("temporal", "Which of these takes the least time?", "Blinking an eye",
     ("Reading a long novel", "Flying across an ocean", "Building a house")),
    ("temporal", "{name} posts a letter on Monday, and it takes three days to arrive. On which "
     "day does it arrive?", "Thursday", ("Tuesday", "Monday", "Sunday")),
    ("temporal", "Which of these usually happens first in a person's life?",
     "Learning to walk",
     ("Retiring from work", "Getting a driving licence", "Graduating from university")),
    ("temporal", "A shop is open from 9 am to 5 pm. {name} arrives at 6 pm. What does {name} "
     "find?", "The shop is already closed.",
     ("The shop is just opening.", "The shop opened five minutes ago.",
      "The shop is still three hours from closing.")),
    ("temporal", "Roughly how often is there a full moon?", "About once a month",
     ("Every hour", "Once every ten years", "Twice a day")),
    ("temporal", "Which meal is usually eaten in the evening?", "Dinner",
     ("Breakfast", "Lunch", "A mid-morning snack")),
    ("temporal", "{name} is 12 years old now. How old was {name} three years ago?", "9",
     ("15", "12", "3")),
    ("temporal", "{name} starts a four-year university course in September 2022. In which year "
     "does it normally finish?", "2026", ("2022", "2023", "2040")),
    ("temporal", "Which of these is the longest period of time?", "A week",
     ("A day", "An hour", "A minute")),
    ("temporal", "The milk in {name}'s fridge had a use-by date last month. What is most likely "
     "true?", "It may have gone sour.",
     ("It is fresher than new milk.", "It has turned into water.",
      "It will stay fresh for another year.")),
    ("temporal", "A train leaves at 3:15 pm and the trip takes 45 minutes. When does it arrive?",
     "At 4:00 pm", ("At 3:00 pm", "At 3:45 pm", "At 5:15 pm")),
    ("temporal", "What does a person usually do just before falling asleep at night?",
     "Lie down in bed", ("Eat breakfast", "Start work at the office", "Catch the morning train")),
    ("temporal", "{a} was born in 1990 and {b} was born in 1995. Who is older?", "{a}",
     ("{b}", "They are the same age", "Nobody can be older than anyone else")),
    ("temporal", "In the Northern Hemisphere, which month is usually the coldest?", "January",
     ("July", "August", "June")),
    # ---- spatial ----
    ("spatial", "{name} is facing north and turns around to face the opposite way. Which "
     "direction is {name} facing now?", "South", ("North", "East", "West")),
    ("spatial", "A cup is standing on a table and a cat is sleeping under the same table. Which "
     "is higher up?", "The cup", ("The cat", "They are at the same height", "The floor")),
    ("spatial", "In which room of a home would you most likely find a bathtub?", "The bathroom",
     ("The garden shed", "The garage", "The attic")),
    ("spatial", "On a shelf, a book stands between a lamp and a clock. The lamp is to the left "
     "of the book. Where is the clock?", "To the right of the book",
     ("To the left of the lamp", "Under the shelf", "Inside the book")),
    ("spatial", "Which of these can fit inside a shoebox?", "A pair of socks",
     ("A bicycle", "A sofa", "A piano")),
    ("spatial", "{name} is on the third floor of a building and goes down two floors. Which "
     "floor is {name} on now?", "The first floor",
     ("The fifth floor", "The third floor", "The second floor")),
    ("spatial", "Where do people usually keep milk at home so it stays cold?", "In the fridge",
     ("In the oven", "On a sunny windowsill", "In the wardrobe")),
    ("spatial", "The sun rises in the east. In which direction does it set?", "West",
     ("East", "North", "South")),
    ("spatial", "A car is parked inside a garage and the garage door is shut. Where is the car?",
     "Inside the garage", ("On the roof", "In the river", "On the motorway")),
    ("spatial", "Which of these is closest to the ground?", "The front doorstep",
     ("The roof", "The chimney", "An upstairs window")),
    ("spatial", "{name} puts a coin in a small box, closes the lid and puts the box in a drawer. "
     "Where is the coin?", "In the box, inside the drawer",
     ("On top of the drawer", "In {name}'s pocket", "Under the drawer")),
    ("spatial", "Which part of a tree is usually under the ground?", "The roots",
     ("The leaves", "The branches", "The fruit")),
    ("spatial", "{name} is a passenger in the back seat of a car. Where is the driver sitting?",
     "In the front", ("In the boot", "On the roof", "Behind {name}")),
    ("spatial", "A painting hangs on the wall directly above a sofa. What is directly below the "
     "painting?", "The sofa", ("The ceiling", "The roof", "The sky")),
    ("spatial", "Which of these is usually found on a desk rather than on a ceiling?",
     "A keyboard", ("A smoke detector", "A ceiling fan", "A skylight")),
    ("spatial", "{name} is at the bottom of a staircase and wants to reach a bedroom on the "
     "upper floor. Which way should {name} go?", "Up the stairs",
     ("Down into the basement", "Out of the back door", "Into the garden")),
    ("spatial", "{a}, {b} and {c} stand in a line: {a} is first, {b} is in the middle and {c} "
     "is last. Who is standing next to both of the others?", "{b}", ("{a}", "{c}", "Nobody")),
    ("spatial", "A ship is far out at sea, with no land in sight. What surrounds it?", "Water",
     ("Sand dunes", "A forest", "Snowy mountains")),
    ("spatial", "{name} turns left, and then turns left again. Compared with how {name} started, "
     "which way is {name} facing now?", "The opposite direction",
     ("The same direction", "A quarter turn to the right", "Straight up at the sky")),
    ("spatial", "Which of these is the largest?", "A city", ("A street", "A house", "A room")),
    ("spatial", "Where does the pilot sit on a passenger plane?", "In the cockpit at the front",
     ("In the luggage hold", "On the wing", "In the last row of seats")),
    ("spatial", "{name} is packing a shopping bag with a box of eggs and a heavy sack of "
     "potatoes. Which should go at the bottom?", "The potatoes",
     ("The eggs", "It makes no difference", "Neither, the bag must stay empty")),
    ("spatial", "On a map, a lake lies to the north of a village. In which direction does "
     "{name} walk to get from the village to the lake?", "North",
     ("South", "East", "West")),
    ("spatial", "What is directly above a person standing in the middle of a room?",
     "The ceiling", ("The floor", "The carpet", "The basement")),
    ("spatial", "Which of these is farthest away from the Earth?", "The Sun",
     ("The Moon", "A cloud", "The top of a mountain")),
    ("spatial", "One town is 10 km from {name}'s home and another is 50 km away. Which town is "
     "nearer to the home?", "The town 10 km away",
     ("The town 50 km away", "Both are equally near", "Neither town is nearer")),
    # ---- causal ----
    ("causal", "{name} forgot to water a houseplant for a whole month. What most likely "
     "happened to it?", "It dried out and wilted.",
     ("It became greener and healthier.", "It doubled in size.", "It started to sing.")),
    ("causal", "Why do people often carry umbrellas on cloudy days?", "Because it might rain",
     ("Because umbrellas make the sun shine", "Because clouds are heavy",
      "Because umbrellas keep the wind away")),
    ("causal", "{name}'s car will not start, and the fuel gauge reads empty. What is the most "
     "likely cause?", "The car has run out of fuel.",
     ("The tyres are too clean.", "The radio is switched off.", "The seats are too soft.")),
    ("causal", "{name} stayed up until 3 am the night before an exam. How is {name} most likely "
     "to feel during the exam?", "Tired", ("Fully rested", "Refreshed", "Wide awake from sleep")),
    ("causal", "Why does ice cream melt faster on a hot day?", "The warm air heats it up.",
     ("The sun makes it colder.", "The cone is too small.", "Ice cream dislikes summer.")),
    ("causal", "{name} touches a hot stove and quickly pulls away. Why?",
     "Because it hurt", ("Because the stove was cold", "Because the stove was quiet",
                         "Because {name} was hungry")),
    ("causal", "The kitchen floor is still wet after {name} has mopped it. What might happen if "
     "someone runs across it?", "They might slip and fall.",
     ("They will float.", "The floor will dry instantly.", "They will grow taller.")),
    ("causal", "{name} left the front door wide open all night in the middle of winter. What "
     "was the house like in the morning?", "Cold",
     ("Much warmer than usual", "Full of sand", "Underwater")),
    ("causal", "Why do people put on sunscreen at the beach?",
     "To protect their skin from sunburn",
     ("To make the sea warmer", "To attract seagulls", "To swim faster")),
    ("causal", "{name} has just eaten a very large lunch. How hungry is {name} likely to be an "
     "hour later?", "Not very hungry",
     ("Starving", "Hungrier than before lunch", "Hungry enough for three more lunches")),
    ("causal", "The electricity goes off during the evening. Which of these stops working?",
     "The electric lights", ("Candles", "A wind-up clock", "A paper book")),
    ("causal", "{name} forgot to set an alarm and overslept. What is a likely result?",
     "{name} is late for work.",
     ("{name} arrives at work two hours early.", "The sun rises later than usual.",
      "The alarm rings twice.")),
    ("causal", "{name} practised the piano every day for a year. What is the most likely "
     "result?", "{name} plays much better than before.",
     ("{name} has forgotten how to play.", "The piano has become smaller.",
      "{name} can no longer read music.")),
    ("causal", "A glass vase falls off a high shelf onto a tiled floor. What is the most likely "
     "result?", "It shatters.",
     ("It bounces back onto the shelf.", "It turns into plastic.",
      "The floor breaks but the vase is fine.")),
    ("causal", "{name} put far too much salt in the soup. How does the soup taste?",
     "Too salty", ("Too sweet", "Completely tasteless", "Like chocolate")),
    ("causal", "{name}'s bicycle tyre has a nail stuck in it. What will most likely happen?",
     "The tyre will lose air and go flat.",
     ("The tyre will get bigger.", "The bicycle will go faster.",
      "The nail will repair the tyre.")),
    ("causal", "The road is covered in ice. Why do drivers go more slowly?",
     "To avoid skidding", ("To protect the ice", "Because ice makes cars heavier",
                           "To hear the radio better")),
    ("causal", "{name} studied hard for a spelling test and learned every word on the list. "
     "What is the most likely outcome?", "A good score",
     ("A failing score", "The test is cancelled", "{name} forgets how to write")),
    ("causal", "Why do people wear thick coats in winter?", "To stay warm",
     ("To stay cool", "To make the snow melt", "To walk faster")),
    ("causal", "On a hot day, {name} leaves a carton of milk out of the fridge until evening. "
     "What has most likely happened to the milk?", "It may have turned sour.",
     ("It has become colder.", "It has turned into ice cream.", "It has turned into juice.")),
    ("causal", "A tree has fallen across the only road into a village. What is a likely "
     "effect?", "Cars cannot get through until it is cleared.",
     ("Cars can drive faster.", "The village moves somewhere else.",
      "The tree stands back up by itself at once.")),
    ("causal", "{name} planted seeds but kept them in a dark cupboard and never watered them. "
     "What most likely happened?", "The seeds did not grow.",
     ("They grew into huge plants.", "They turned into flowers overnight.",
      "They grew faster than seeds in a garden.")),
    ("causal", "Why might a phone stop working after it is dropped into a lake?",
     "Water got inside and damaged it.",
     ("The phone became too dry.", "Lakes are too quiet for phones.",
      "Fish turned the phone off.")),
    ("causal", "{name} wore brand-new stiff boots on a very long hike. What is a likely result?",
     "Sore feet or blisters",
     ("Faster hair growth", "Stronger teeth", "A better singing voice")),
    ("causal", "A river rose after a week of heavy rain. What might happen to the low fields "
     "beside it?", "They may flood.",
     ("They will dry out.", "They will catch fire.", "They will rise into the air.")),
    ("causal", "{name} forgot to close the freezer door and it stayed open all day. What most "
     "likely happened to the frozen peas inside?", "They started to thaw.",
     ("They froze even harder.", "They turned into carrots.", "They grew into pea plants.")),
)  # fmt: skip


def _fill_names(text: str, names: dict[str, str]) -> str:
    for key, value in names.items():
        text = text.replace("{" + key + "}", value)
    assert "{" not in text and "}" not in text, text
    return text


def build_commonsense(rng: random.Random) -> list[Item]:
    bank = list(COMMONSENSE_BANK)
    rng.shuffle(bank)
    items: list[Item] = []
    seen: list[frozenset[str]] = []
    for index, (topic, question, right, wrong) in enumerate(bank):
        trio = rng.sample(FIRST_NAMES, 3)
        names = {"name": trio[0], "a": trio[0], "b": trio[1], "c": trio[2]}
        distractors = [_fill_names(choice, names) for choice in wrong]
        rng.shuffle(distractors)
        position = index % 4
        choices = [*distractors[:position], _fill_names(right, names), *distractors[position:]]
        assert len(choices) == 4 and len(set(choices)) == 4, choices
        text = _fill_names(question, names)
        words = word_set(text)
        assert not too_similar(words, seen), text
        seen.append(words)
        items.append(
            {
                "id": f"cs-{index + 1:03d}",
                "question": text,
                "choices": choices,
                "answer": position,
                "topic": topic,
            }
        )
    return items


# --------------------------------------------------------------------------------------------
# 2. Arithmetic word problems
# --------------------------------------------------------------------------------------------

Draw = Callable[[random.Random], tuple[dict[str, int], int]]


def _add(lo_a: int, hi_a: int, lo_b: int, hi_b: int) -> Draw:
    def draw(rng: random.Random) -> tuple[dict[str, int], int]:
        a, b = rng.randint(lo_a, hi_a), rng.randint(lo_b, hi_b)
        return {"a": a, "b": b}, a + b

    return draw


def _sub(lo_a: int, hi_a: int, lo_b: int, hi_b: int) -> Draw:
    """``a - b`` with ``a > b`` (both drawn, redrawn until the result is positive)."""

    def draw(rng: random.Random) -> tuple[dict[str, int], int]:
        while True:
            a, b = rng.randint(lo_a, hi_a), rng.randint(lo_b, hi_b)
            if a > b:
                return {"a": a, "b": b}, a - b

    return draw


def _change(rng: random.Random) -> tuple[dict[str, int], int]:
    a = rng.choice((20, 50, 100))
    b = rng.randint(3, a - 2)
    return {"a": a, "b": b}, a - b


def _mul(lo_a: int, hi_a: int, lo_b: int, hi_b: int) -> Draw:
    def draw(rng: random.Random) -> tuple[dict[str, int], int]:
        a, b = rng.randint(lo_a, hi_a), rng.randint(lo_b, hi_b)
        return {"a": a, "b": b}, a * b

    return draw


def _div(lo_b: int, hi_b: int, lo_q: int, hi_q: int) -> Draw:
    """``a / b`` built as ``a = b * q`` so the division is exact; the answer is ``q``."""

    def draw(rng: random.Random) -> tuple[dict[str, int], int]:
        b, q = rng.randint(lo_b, hi_b), rng.randint(lo_q, hi_q)
        return {"a": b * q, "b": b}, q

    return draw


def _mul_add(rng: random.Random) -> tuple[dict[str, int], int]:
    a, b, c = rng.randint(2, 9), rng.randint(2, 12), rng.randint(1, 15)
    return {"a": a, "b": b, "c": c}, a * b + c


def _mul_sub(rng: random.Random) -> tuple[dict[str, int], int]:
    while True:
        a, b, c = rng.randint(3, 12), rng.randint(4, 20), rng.randint(2, 40)
        if a * b - c > 0:
            return {"a": a, "b": b, "c": c}, a * b - c


def _sub_add(rng: random.Random) -> tuple[dict[str, int], int]:
    a, b, c = rng.randint(20, 60), rng.randint(3, 19), rng.randint(2, 25)
    return {"a": a, "b": b, "c": c}, a - b + c


def _sub_mul(rng: random.Random) -> tuple[dict[str, int], int]:
    while True:
        a, b, c = rng.randint(20, 100), rng.randint(2, 6), rng.randint(2, 12)
        if a - b * c > 0:
            return {"a": a, "b": b, "c": c}, a - b * c


def _add_div(rng: random.Random) -> tuple[dict[str, int], int]:
    while True:
        c, q = rng.randint(2, 8), rng.randint(3, 15)
        total = c * q
        a = rng.randint(1, total - 1)
        b = total - a
        if a >= 2 and b >= 2:
            return {"a": a, "b": b, "c": c}, q


def _add_sub(rng: random.Random) -> tuple[dict[str, int], int]:
    while True:
        a, b, c = rng.randint(3, 15), rng.randint(3, 15), rng.randint(2, 20)
        if a + b - c > 0:
            return {"a": a, "b": b, "c": c}, a + b - c


def _egg_shortfall(rng: random.Random) -> tuple[dict[str, int], int]:
    a, b = rng.randint(2, 6), rng.randint(2, 5)
    c = rng.randint(2, a * b - 1)
    return {"a": a, "b": b, "c": c}, a * b - c


def _add_mul(rng: random.Random) -> tuple[dict[str, int], int]:
    a, b, c = rng.randint(5, 60), rng.randint(2, 6), rng.randint(5, 12)
    return {"a": a, "b": b, "c": c}, a + b * c


# (operation, template, draw, words). Slots: {a} {b} {c} are the numbers; {n} and {m} two
# distinct first names; {x} and {y} come from one entry of ``words``, written "x|y" (an entry
# without "|" only sets {x}), so that the two words always fit together.
ARITHMETIC_TEMPLATES: tuple[tuple[str, str, Draw, tuple[str, ...]], ...] = (
    # ---- add ----
    ("add", "{n} buys {a} {x} and {b} {y} at the market. How many pieces of fruit does {n} buy "
     "in total?", _add(3, 40, 3, 40),
     ("apples|pears", "oranges|bananas", "plums|peaches", "lemons|limes", "kiwis|mangoes")),
    ("add", "The library at {x} had {a} books. This week it received {b} new books from {y}. "
     "How many books does it have now?", _add(120, 600, 10, 90),
     ("Hillside School|a local charity", "Riverside Primary|the town council",
      "Oak Lane Academy|a retired teacher", "Northgate College|a family of readers")),
    ("add", "{n}'s {y} team, the {x}, scored {a} points in the first half and {b} in the "
     "second half. How many points did the team score in the whole game?", _add(15, 45, 15, 45),
     ("Tigers|basketball", "Hawks|netball", "Comets|basketball", "Wolves|netball")),
    ("add", "{n} drove {a} kilometres on Saturday to visit {x} and {b} kilometres on Sunday to "
     "get home by a different road. How many kilometres did {n} drive over the weekend?",
     _add(40, 300, 40, 300), ("a cousin", "the coast", "an old friend", "the mountains")),
    ("add", "A recipe for {x} needs {a} grams of flour for the dough and {b} grams for {y}. How "
     "many grams of flour are needed altogether?", _add(150, 500, 10, 60),
     ("pizza|dusting the table", "bread rolls|shaping the rolls",
      "apple pie|the crumble topping", "dumplings|rolling them out")),
    ("add", "{n} had {a} dollars in a {x} and earned {b} more dollars for {y}. How many dollars "
     "does {n} have now?", _add(5, 80, 5, 40),
     ("piggy bank|washing a car", "money box|walking a dog", "savings jar|mowing a lawn",
      "wallet|helping at a bake sale")),
    ("add", "{n} planted {a} {x} bulbs in the front garden and {b} in the back garden. How many "
     "bulbs did {n} plant?", _add(6, 50, 6, 50), ("tulip", "daffodil", "crocus", "lily")),
    ("add", "For a {x} concert in the {y}, {a} people bought tickets online and {b} people paid "
     "at the door. How many people bought tickets?", _add(100, 500, 20, 200),
     ("jazz|park", "folk|town hall", "rock|old factory", "brass band|market square")),
    ("add", "{n} read {a} pages of a {x} in the morning and {b} pages {y}. How many pages did "
     "{n} read that day?", _add(8, 60, 8, 60),
     ("novel|before bed", "mystery story|on the train home", "history book|after dinner",
      "comic|during the lunch break")),
    ("add", "{n} drives a {x} bus carrying {a} passengers. At {y}, {b} more people get on and "
     "nobody gets off. How many passengers are on the bus now?", _add(5, 30, 2, 20),
     ("school|the next stop", "city|the market stop", "night|the station",
      "airport|the last hotel")),
    ("add", "A baker made {a} {x} before noon and {b} after noon for {y}. How many {x} did the "
     "baker make that day?", _add(20, 90, 10, 70),
     ("loaves|the Saturday market", "croissants|a hotel breakfast", "bagels|a busy café",
      "pies|a village fair")),
    ("add", "{n} conducts a {x} choir with {a} sopranos and {b} altos. How many sopranos and "
     "altos are there altogether?", _add(6, 30, 6, 30),
     ("school", "church", "village", "workplace")),
    ("add", "{n} collected {a} {x} in the {y} in the morning and {b} more in the afternoon. "
     "How many {x} did {n} collect?", _add(5, 60, 5, 60),
     ("shells|bay", "pine cones|woods", "conkers|park", "pebbles|riverbed")),
    ("add", "A zoo has {a} {x} and {b} {y}. How many of these animals does the zoo have in "
     "total?", _add(4, 40, 4, 40),
     ("flamingos|penguins", "goats|sheep", "parrots|owls", "monkeys|lemurs")),
    ("add", "{n} scored {a} points in the first round of a {x} quiz and {b} points in the "
     "second round. What was {n}'s total score?", _add(10, 90, 10, 90),
     ("history", "science", "music", "geography")),
    # ---- subtract ----
    ("subtract", "{n} had {a} {x} and gave {b} of them to {y}. How many {x} does {n} have "
     "left?", _sub(20, 90, 3, 40),
     ("stickers|a younger cousin", "marbles|a neighbour", "trading cards|a best friend",
      "crayons|a classmate")),
    ("subtract", "A train to {x} had {a} passengers. At {y}, {b} passengers got off and no one "
     "got on. How many passengers are still on the train?", _sub(80, 400, 10, 150),
     ("the coast|the first station", "the capital|a busy junction",
      "the airport|the city centre", "the mountains|a small village")),
    ("subtract", "A tray in the {y} held {a} eggs. {n} used {b} of them to make {x}. How many "
     "eggs are left on the tray?", _sub(18, 30, 2, 12),
     ("pancakes|kitchen", "an omelette|café", "a sponge cake|bakery",
      "scrambled eggs|school canteen")),
    ("subtract", "{n} wants a {x} that costs {a} dollars and has saved {b} dollars so far. How "
     "many more dollars does {n} need?", _sub(90, 450, 20, 300),
     ("bicycle", "guitar", "tablet", "camera")),
    ("subtract", "A hiking trail through {x} is {a} kilometres long. {n} has already walked {b} "
     "kilometres of it. How many kilometres are left?", _sub(12, 45, 3, 30),
     ("the forest", "the hills", "a national park", "the valley")),
    ("subtract", "In a basketball game, the {y} scored {a} points and the {x} scored {b}. By "
     "how many points did the {y} win?", _sub(60, 120, 40, 110),
     ("Harbour Sharks|Lions", "Red Foxes|Falcons", "Tigers|Ravens", "Comets|Bears")),
    ("subtract", "A bookshop near {y} had {a} copies of a new {x}. By Friday it had sold {b} of "
     "them. How many copies does the shop still have?", _sub(40, 200, 10, 150),
     ("cookbook|the high street", "thriller|the station", "children's book|the old town",
      "atlas|the harbour")),
    ("subtract", "{n} paid for a {x} costing {b} dollars with a {a}-dollar note. How many "
     "dollars of change did {n} get?", _change, ("lunch", "haircut", "taxi ride", "book")),
    ("subtract", "The {y} Theatre has {a} seats, and {b} of them are already booked for {x}. "
     "How many seats are still free?", _sub(150, 600, 40, 500),
     ("tonight's show|Royal", "the opera|Grand", "a comedy night|Little", "the ballet|Civic")),
    ("subtract", "A cook had {a} grams of butter and used {b} grams for a {x}. How many grams of "
     "butter are left?", _sub(200, 500, 50, 250), ("cake", "batch of biscuits", "pie crust")),
    ("subtract", "A class wants to collect {a} {x} for {y} and has collected {b} so far. How "
     "many more {x} does it need?", _sub(100, 300, 20, 250),
     ("cans|a food bank", "tins of soup|a homeless shelter", "packets of pasta|a charity drive",
      "bags of rice|a community kitchen")),
    ("subtract", "{n} is {a} centimetres tall and {m} is {b} centimetres tall. How many "
     "centimetres taller is {n} than {m}?", _sub(140, 190, 110, 175), ()),
    ("subtract", "A farmer had {a} {x} in a field. {b} of them were moved to {y}. How many {x} "
     "are still in the field?", _sub(20, 120, 5, 90),
     ("sheep|the barn", "cows|a new meadow", "goats|the hillside", "horses|the stables")),
    ("subtract", "{n}'s {x} had {a} photos {y}. After deleting {b} blurry ones, how many of "
     "those photos are left?", _sub(60, 400, 10, 90),
     ("phone|from the holiday", "camera|from the wedding", "tablet|from a school trip",
      "phone|from a birthday party")),
    ("subtract", "A {x} shop had {a} {y} in stock and sold {b} of them on a busy Saturday. How "
     "many {y} are left?", _sub(30, 150, 5, 100),
     ("garden|flower pots", "sports|footballs", "toy|puzzles", "pet|dog beds")),
    # ---- multiply ----
    ("multiply", "{n} buys {a} packs of {x}. Each pack holds {b} of them. How many {x} does {n} "
     "buy?", _mul(2, 9, 4, 12), ("juice boxes", "yoghurts", "pencils", "batteries")),
    ("multiply", "The {x} at {y} has {a} rows of desks with {b} desks in each row. How many "
     "desks are there?", _mul(3, 8, 4, 8),
     ("classroom|Maple Street School", "exam hall|the university",
      "computer lab|the town college", "library|Hillside School")),
    ("multiply", "A {x} ticket costs {b} dollars. How many dollars do {a} tickets cost?",
     _mul(2, 9, 5, 25), ("cinema", "museum", "zoo", "ferry")),
    ("multiply", "While training for {x}, {n} cycles {b} kilometres every day for {a} days. "
     "How many kilometres does {n} cycle in total?", _mul(3, 14, 12, 60),
     ("a race", "a charity ride", "a long tour", "a triathlon")),
    ("multiply", "A baker puts {b} {x} on each tray and fills {a} trays for {y}. How many {x} "
     "are there altogether?", _mul(3, 10, 6, 24),
     ("muffins|a school party", "rolls|a wedding", "cookies|a charity sale",
      "tarts|a garden party")),
    ("multiply", "{n} organises a {x} tournament for {a} teams, each with {b} players. How "
     "many players take part in the tournament?", _mul(4, 16, 5, 11),
     ("football", "volleyball", "hockey", "netball")),
    ("multiply", "{n} parks at the {x}, where the car park has {a} levels with room for {b} cars "
     "on each. How many cars can the car park hold?", _mul(2, 6, 20, 90),
     ("airport", "hospital", "shopping centre", "stadium")),
    ("multiply", "A recipe uses {b} grams of sugar for one {x}. How many grams of sugar are "
     "needed for {a} of them?", _mul(2, 6, 50, 150), ("cake", "batch of jam", "lemon tart")),
    ("multiply", "{n} saves {b} dollars every week for a {x}. How many dollars will {n} have "
     "saved after {a} weeks?", _mul(3, 12, 4, 30),
     ("holiday", "new phone", "bicycle", "birthday present")),
    ("multiply", "{n}'s vegetable garden has {a} rows of {x} plants with {b} in each row. How "
     "many {x} plants are there?", _mul(3, 12, 5, 20),
     ("carrot", "lettuce", "bean", "cabbage")),
    ("multiply", "A minibus to the {x} makes {a} trips a day and carries {b} {y} on each trip. "
     "How many {y} does it carry in a day?", _mul(3, 10, 8, 16),
     ("airport|travellers", "zoo|visitors", "beach|tourists", "ski slopes|skiers")),
    ("multiply", "{n} buys {a} {x} with {b} pages each. How many pages is that in total?",
     _mul(2, 9, 40, 100), ("notebooks", "sketchbooks", "diaries", "exercise books")),
    ("multiply", "{n} runs a flower shop and makes {a} bouquets with {b} {x} in each. How many "
     "{x} does {n} use?", _mul(3, 15, 5, 12), ("roses", "tulips", "daisies", "lilies")),
    ("multiply", "A {x} has {a} shelves, and each shelf holds {b} {y}. How many {y} fit in the "
     "{x}?", _mul(3, 8, 6, 30),
     ("bookcase|books", "spice rack|jars", "shoe cabinet|pairs of shoes",
      "pantry cupboard|tins")),
    ("multiply", "{n} swims {b} lengths of the pool every {x} morning. How many lengths does "
     "{n} swim in {a} weeks?", _mul(3, 12, 10, 40), ("Monday", "Wednesday", "Saturday")),
    # ---- divide ----
    ("divide", "{n} shares {a} {x} equally among {b} friends. How many {x} does each friend "
     "get?", _div(2, 8, 3, 12), ("sweets", "grapes", "stickers", "biscuits")),
    ("divide", "A {x} teacher splits {a} students into groups of {b}. How many groups are "
     "there?", _div(3, 6, 3, 9), ("music", "science", "sports", "drama")),
    ("divide", "{n} plans a {a}-kilometre {x} tour through {y} in {b} equal daily stages. How "
     "many kilometres long is each stage?", _div(3, 8, 20, 80),
     ("bike|the hills", "walking|the national park", "canoe|the lake district",
      "horse-riding|the valleys")),
    ("divide", "{b} friends split a {x} bill of {a} dollars equally. How many dollars does "
     "each friend pay?", _div(2, 6, 12, 45), ("restaurant", "taxi", "hotel", "grocery")),
    ("divide", "{n} packs {a} {x} eggs from the farm into boxes of {b}. How many boxes does "
     "{n} fill?", _div(6, 12, 5, 40), ("hen", "duck", "quail")),
    ("divide", "{n} cuts a {x} ribbon {a} centimetres long into {b} pieces of equal length. "
     "How many centimetres long is each piece?", _div(2, 9, 10, 60),
     ("red", "silk", "gold", "striped")),
    ("divide", "{n} read a {a}-page {x} in {b} days, reading the same number of pages each "
     "day. How many pages did {n} read per day?", _div(3, 10, 15, 60),
     ("novel", "biography", "travel guide", "fantasy book")),
    ("divide", "Coach {n} has {a} {x} balls and puts them into bags of {b} for the {y}. How "
     "many bags are filled?", _div(3, 5, 6, 30),
     ("tennis|junior club", "squash|school team", "golf|beginners' class")),
    ("divide", "{n} pours a pot holding {a} millilitres of {x} equally into {b} bowls. How many "
     "millilitres go into each bowl?", _div(4, 8, 50, 110),
     ("tomato soup", "pumpkin soup", "vegetable broth", "lentil soup")),
    ("divide", "{x} orders {a} {y} for {b} classes, and every class gets the same number. How "
     "many {y} does each class get?", _div(4, 12, 10, 40),
     ("Hillside School|pencils", "Riverside Primary|rulers", "Oak Lane Academy|glue sticks",
      "Northgate College|erasers")),
    ("divide", "A van carries {a} {x} to a wedding in {b} equal loads. How many {x} are in "
     "each load?", _div(2, 6, 15, 40), ("chairs", "flower pots", "lanterns", "boxes of plates")),
    ("divide", "{n} earned {a} dollars for {b} hours of {x} at the same hourly rate. How many "
     "dollars did {n} earn per hour?", _div(3, 9, 8, 25),
     ("babysitting", "gardening", "dog walking", "tutoring")),
    ("divide", "{n} builds a {a}-metre {x} fence from {b} panels of equal width. How many "
     "metres wide is each panel?", _div(4, 12, 2, 3), ("wooden", "garden", "bamboo")),
    ("divide", "A {x} puts {a} children into {b} {y}, with the same number in each. How many "
     "children are in each of the {y}?", _div(3, 8, 4, 12),
     ("summer camp|cabins", "school trip|minibuses", "sports club|teams",
      "youth hostel|dormitories")),
    ("divide", "{n} paid {a} dollars for a {b}-week {x} course, the same amount for each week. "
     "How many dollars did each week cost?", _div(4, 10, 15, 60),
     ("cooking", "pottery", "swimming", "painting")),
    # ---- two_step ----
    ("two_step", "{n} buys {a} {x} at {b} dollars each and a {y} for {c} dollars. How many "
     "dollars does {n} spend in total?", _mul_add,
     ("notebooks|pen", "sandwiches|drink", "candles|card", "plant pots|bag of soil")),
    ("two_step", "{n} drives a {x} bus that starts with {a} passengers. At {y}, {b} people get "
     "off, and at the next stop {c} people get on. How many passengers are on the bus now?",
     _sub_add, ("school|the first stop", "city|the museum", "airport|the car rental office",
                "night|the hospital")),
    ("two_step", "{n} has {a} dollars and buys {b} {x} that cost {c} dollars each. How many "
     "dollars does {n} have left?", _sub_mul, ("comic books", "board games", "cinema tickets")),
    ("two_step", "A bakery makes {a} trays of {b} {x} each and sells {c} {x}. How many {x} are "
     "left?", _mul_sub, ("cookies", "scones", "rolls")),
    ("two_step", "{n}'s {x} team scored {b} points in each of its first {a} rounds and {c} "
     "points in the {y}. How many points did the team score in all?", _mul_add,
     ("quiz|bonus round", "trivia|final round", "spelling|last round")),
    ("two_step", "At a {x}, {n} shares {a} apples and {b} oranges equally among {c} children. "
     "How many pieces of fruit does each child get?", _add_div,
     ("picnic", "party", "sports day", "school fair")),
    ("two_step", "{n} ran {a} kilometres on Monday and {b} kilometres on Tuesday. {m} ran {c} "
     "kilometres in total on those two days. How many more kilometres did {n} run than {m}?",
     _add_sub, ()),
    ("two_step", "A {x} has {a} rows of {b} seats, but {c} seats are broken. How many seats "
     "can be used?", _mul_sub, ("hall", "cinema", "theatre", "lecture room")),
    ("two_step", "A class collected {a} {x} on Monday and {b} on Tuesday, then packed them "
     "into boxes of {c}. How many boxes did they fill?", _add_div,
     ("cans", "books", "toys", "jars")),
    ("two_step", "A {x} needs {b} eggs. {n} wants to bake {a} of them and already has {c} eggs "
     "at home. How many more eggs does {n} need to buy?", _egg_shortfall,
     ("sponge cake", "lemon cake", "cheesecake", "fruit cake")),
    ("two_step", "{n} had {a} dollars, spent {b} dollars on a {x}, and then received {c} "
     "dollars from a friend. How many dollars does {n} have now?", _sub_add,
     ("scarf", "train ticket", "pizza", "phone case")),
    ("two_step", "Each box of {x} holds {b} packets. A shop has {a} boxes and {c} loose packets. "
     "How many packets does the shop have?", _mul_add, ("tea", "seeds", "crackers")),
    ("two_step", "{n} earns {b} dollars a day for {a} days of {x} and then spends {c} dollars "
     "on {y}. How many of those dollars does {n} have left?", _mul_sub,
     ("fruit picking|a jacket", "babysitting|concert tickets", "dog walking|new shoes",
      "gardening|a gift")),
    ("two_step", "A {x} sold {a} tickets on Friday and {b} on Saturday, but {c} of those "
     "tickets were later refunded. How many tickets were not refunded?", _add_sub,
     ("school play", "village fair", "magic show", "puppet theatre")),
    ("two_step", "{n} has {a} {x} and buys {b} packs with {c} {x} in each. How many {x} does "
     "{n} have now?", _add_mul, ("stamps", "stickers", "trading cards", "beads")),
)  # fmt: skip

ARITHMETIC_PER_OPERATION: dict[str, int] = {
    "add": 30,
    "subtract": 30,
    "multiply": 30,
    "divide": 30,
    "two_step": 30,
}


def _render_arithmetic(
    template: str, numbers: dict[str, int], names: Sequence[str], words: str
) -> str:
    x, _, y = words.partition("|")
    values: dict[str, str] = {key: str(value) for key, value in numbers.items()}
    values.update({"n": names[0], "m": names[1], "x": x, "y": y})
    text = template
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    assert "{" not in text and "}" not in text, text
    digits = [int(token) for token in re.findall(r"\d+", text)]
    assert sorted(digits) == sorted(numbers.values()), (text, numbers)
    return text


def build_arithmetic(rng: random.Random) -> list[Item]:
    by_operation: dict[str, list[tuple[str, Draw, tuple[str, ...]]]] = {}
    for operation, template, draw, words in ARITHMETIC_TEMPLATES:
        by_operation.setdefault(operation, []).append((template, draw, words))
    drafts: list[tuple[str, str, int]] = []
    seen: list[frozenset[str]] = []
    for operation, count in ARITHMETIC_PER_OPERATION.items():
        templates = by_operation[operation]
        for index in range(count):
            template, draw, words = templates[index % len(templates)]
            for _attempt in range(200):
                numbers, answer = draw(rng)
                names = rng.sample(FIRST_NAMES, 2)
                x = rng.choice(words) if words else ""
                text = _render_arithmetic(template, numbers, names, x)
                if 0 < answer < 1000 and not too_similar(word_set(text), seen):
                    break
            else:  # pragma: no cover - would mean the templates are too narrow
                raise RuntimeError(f"no distinct variant for template: {template}")
            seen.append(word_set(text))
            drafts.append((text, operation, answer))
    rng.shuffle(drafts)
    return [
        {"id": f"ar-{i + 1:03d}", "question": text, "answer": str(answer), "operation": op}
        for i, (text, op, answer) in enumerate(drafts)
    ]


# --------------------------------------------------------------------------------------------
# 3. Reading comprehension
# --------------------------------------------------------------------------------------------

RC_FIRST: tuple[str, ...] = (
    "Mara", "Tobias", "Ilse", "Kofi", "Renata", "Anselm", "Priya", "Dario", "Yuki", "Soren",
    "Leona", "Idris", "Freya", "Matteo", "Nadia", "Oskar", "Amara", "Emeric", "Talia", "Bruno",
    "Hana", "Casimir", "Odile", "Rafael", "Zora", "Felix", "Ines", "Jun", "Lotte", "Marek",
)  # fmt: skip
RC_LAST: tuple[str, ...] = (
    "Fenwright", "Ashcombe", "Quillon", "Marrow", "Dunleavy", "Brannick", "Oakhurst", "Lindqvist",
    "Tarrant", "Kestrel", "Halloway", "Penrose", "Varga", "Castellan", "Ibarra", "Whitlock",
    "Okonkwo", "Delacroix", "Sorensen", "Abernathy", "Mendez", "Thorne", "Galloway", "Pemberton",
    "Szabo", "Achebe", "Rooke", "Vance", "Harlow", "Moreau",
)  # fmt: skip
RC_TOWNS: tuple[str, ...] = (
    "Harrowby", "Eastmere", "Kelvarra", "Pinecombe", "Lowbridge", "Saltmarsh", "Dunmore",
    "Verrin", "Ashgrove", "Millbeck", "Corravale", "Brindlewood", "Tessaly", "Oldhaven",
    "Marrowgate", "Fennick", "Westhollow", "Caddon", "Ravensby", "Glimmerton", "Thornwick",
    "Bellasca", "Quarrydale", "Yarrowick", "Kestlemoor", "Selkirth", "Wrenhaven", "Ambleford",
)  # fmt: skip
RC_DAYS: tuple[str, ...] = (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
)  # fmt: skip
RC_MONTHS: tuple[str, ...] = (
    "January", "February", "March", "April", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip

# Each template: passage, the questions it supports (kind -> (question, answer slot)), the
# range for {N}, the range for {YEAR}, and its own word lists for {X} (a list given for a
# built-in slot such as {MONTH} replaces the default choices). Built-in slots:
# {P1} {P2} full names (distinct first and last names), {P1F} {P2F} their first names,
# {T1} {T2} distinct towns, {DAY}, {MONTH}. Every question is written so that only the slot it
# names can answer it: a second person or town in the same passage always has another role.
RcTemplate = tuple[
    str, dict[str, tuple[str, str]], tuple[int, int], tuple[int, int], dict[str, tuple[str, ...]]
]
NO_RANGE = (0, 0)

READING_TEMPLATES: tuple[RcTemplate, ...] = (
    ("Last {DAY}, {P1} opened a small bakery on the main square of {T1}. On the first morning, "
     "{N} customers queued outside before the doors opened. The most popular item was a {X} "
     "that sold out by noon.",
     {"who": ("Who opened the bakery?", "P1"),
      "where": ("In which town did the bakery open?", "T1"),
      "when": ("On which day did the bakery open?", "DAY"),
      "how_many": ("How many customers queued outside on the first morning?", "N"),
      "what": ("Which item sold out by noon?", "X")},
     (12, 60), NO_RANGE,
     {"X": ("honey rye loaf", "cardamom bun", "walnut tart", "cheese scone", "plum cake")}),
    ("{P1} spent the summer of {YEAR} repairing an old lighthouse near {T1}. The work took {N} "
     "weeks, and a local carpenter named {P2} helped with the wooden stairs. When it was "
     "finished, the lamp was lit again for the first time in decades.",
     {"who": ("Who helped with the wooden stairs?", "P2"),
      "where": ("Near which town is the lighthouse?", "T1"),
      "when": ("In which year was the lighthouse repaired?", "YEAR"),
      "how_many": ("How many weeks did the repair work take?", "N")},
     (5, 14), (1961, 2015), {}),
    ("The {T1} chess club held its winter tournament in {MONTH}. {N} players took part, and "
     "the youngest of them, {P1}, won every game. The prize was a {X}.",
     {"who": ("Who won every game in the tournament?", "P1"),
      "where": ("Which town's chess club held the tournament?", "T1"),
      "when": ("In which month was the tournament held?", "MONTH"),
      "how_many": ("How many players took part?", "N"),
      "what": ("What was the prize?", "X")},
     (14, 48), NO_RANGE,
     {"X": ("wooden trophy", "silver medal", "set of glass chess pieces", "leather board bag",
            "framed certificate"),
      "MONTH": ("December", "January", "February")}),
    ("During a storm on {DAY} night, a fishing boat called the {X} lost its engine off the "
     "coast of {T1}. Its crew of {N} sailors was rescued by a lifeboat led by {P1}. Nobody was "
     "hurt.",
     {"who": ("Who led the lifeboat?", "P1"),
      "where": ("Off the coast of which town did the boat lose its engine?", "T1"),
      "when": ("On which night did the storm happen?", "DAY"),
      "how_many": ("How many sailors were in the crew?", "N"),
      "what": ("What was the name of the fishing boat?", "X")},
     (3, 9), NO_RANGE, {"X": ("Grey Heron", "Morning Star", "Sea Lark", "Blue Otter", "Patience")}),
    ("{P1} keeps bees in a meadow behind the primary school in {T1}. This year the hives "
     "produced {N} jars of honey. {P1F} sold most of them at the autumn fair and gave the rest "
     "to the school kitchen.",
     {"who": ("Who keeps bees behind the primary school?", "P1"),
      "where": ("In which town is the meadow with the beehives?", "T1"),
      "how_many": ("How many jars of honey did the hives produce this year?", "N")},
     (30, 140), NO_RANGE, {}),
    ("The museum in {T1} has put a {X} on display. It was found by {P1}, a retired teacher, "
     "while digging a vegetable patch in {YEAR}. Experts believe the object is older than the "
     "town itself.",
     {"who": ("Who found the object?", "P1"),
      "where": ("In which town is the museum?", "T1"),
      "when": ("In which year was the object found?", "YEAR"),
      "what": ("What has the museum put on display?", "X")},
     NO_RANGE, (1978, 2019),
     {"X": ("bronze bracelet", "clay oil lamp", "carved bone comb", "copper coin",
            "stone axe head")}),
    ("{P1} ran the {T1} half marathon on a cold {MONTH} morning and finished in {N} minutes, "
     "a personal best. Afterwards, {P1F} celebrated with a bowl of {X} at a café near the "
     "finish line.",
     {"who": ("Who ran the half marathon?", "P1"),
      "where": ("Which town's half marathon did the runner take part in?", "T1"),
      "when": ("In which month was the half marathon?", "MONTH"),
      "how_many": ("In how many minutes did the runner finish?", "N"),
      "what": ("What did the runner eat to celebrate?", "X")},
     (88, 140), NO_RANGE,
     {"X": ("lentil soup", "porridge with berries", "noodle soup", "bean stew",
            "mushroom risotto"),
      "MONTH": ("November", "December", "January", "February", "March")}),
    ("At the {T1} flower show, {P1} won first prize for a {X} rose. The show attracted {N} "
     "visitors over the weekend. Second prize went to {P2} for a display of orchids.",
     {"who": ("Who won first prize at the flower show?", "P1"),
      "where": ("In which town was the flower show held?", "T1"),
      "how_many": ("How many visitors did the show attract?", "N"),
      "what": ("What colour was the rose that won first prize?", "X")},
     (300, 950), NO_RANGE, {"X": ("yellow", "white", "crimson", "pale pink", "deep red")}),
    ("The ferry from {T1} to {T2} was cancelled on {DAY} because of thick fog. About {N} "
     "passengers had to wait in the harbour café until the next afternoon. The captain, {P1}, "
     "said it was the first cancellation of the year.",
     {"who": ("Who was the captain of the ferry?", "P1"),
      "where": ("To which town was the ferry supposed to sail?", "T2"),
      "when": ("On which day was the ferry cancelled?", "DAY"),
      "how_many": ("About how many passengers had to wait?", "N"),
      "what": ("What caused the ferry to be cancelled?", "X")},
     (20, 90), NO_RANGE, {"X": ("thick fog",)}),
    ("{P1} has collected postcards since childhood and now owns {N} of them. The oldest card "
     "shows a steam train crossing a bridge near {T1}. {P1F} keeps the whole collection in a "
     "{X} under the bed.",
     {"who": ("Who collects postcards?", "P1"),
      "where": ("Near which town is the bridge on the oldest postcard?", "T1"),
      "how_many": ("How many postcards does the collector own?", "N"),
      "what": ("What is the postcard collection kept in?", "X")},
     (150, 900), NO_RANGE,
     {"X": ("wooden trunk", "shoebox", "tin chest", "leather suitcase", "cardboard crate")}),
    ("In {YEAR}, a flood damaged the old stone bridge in {T1}. The town council hired an "
     "engineer, {P1}, to rebuild it. The new bridge has {N} arches and opened to traffic the "
     "following spring.",
     {"who": ("Who was hired to rebuild the bridge?", "P1"),
      "where": ("In which town was the bridge damaged?", "T1"),
      "when": ("In which year did the flood damage the bridge?", "YEAR"),
      "how_many": ("How many arches does the new bridge have?", "N"),
      "what": ("What damaged the old stone bridge?", "X")},
     (3, 9), (1952, 2016), {"X": ("a flood",)}),
    ("{P1} and {P2} met at a pottery class in {T1}. {P1F} made a {X}, while {P2F} made a set "
     "of {N} small cups. Both pieces were shown at the class exhibition in {MONTH}.",
     {"who": ("Who made the set of small cups?", "P2"),
      "where": ("In which town was the pottery class?", "T1"),
      "when": ("In which month was the class exhibition?", "MONTH"),
      "how_many": ("How many small cups were in the set?", "N"),
      "what": ("What did {P1F} make?", "X")},
     (4, 12), NO_RANGE,
     {"X": ("tall vase", "fruit bowl", "garden lantern", "large teapot", "flower pot")}),
    ("Every {DAY}, {P1} drives a mobile library van to the villages around {T1}. The van "
     "carries about {N} books. The most requested book this year has been a story about a "
     "{X}.",
     {"who": ("Who drives the mobile library van?", "P1"),
      "where": ("Around which town does the van visit villages?", "T1"),
      "when": ("On which day of the week does the van visit the villages?", "DAY"),
      "how_many": ("About how many books does the van carry?", "N"),
      "what": ("What is the most requested book this year about?", "X")},
     (300, 900), NO_RANGE,
     {"X": ("lost penguin", "flying bicycle", "talking lighthouse", "giant turnip",
            "sleepy dragon")}),
    ("The {T1} orchestra gave a free concert in the park on {DAY} evening. The conductor, "
     "{P1}, chose music by young local composers. Around {N} people brought blankets and "
     "picnics to listen.",
     {"who": ("Who conducted the concert?", "P1"),
      "where": ("Which town's orchestra gave the concert?", "T1"),
      "when": ("On which evening was the concert?", "DAY"),
      "how_many": ("Around how many people came to listen?", "N")},
     (200, 950), NO_RANGE, {}),
    ("A rare {X} was spotted on the marshes outside {T1} in {MONTH}. The first person to "
     "photograph it was {P1}, a nurse who walks there before work. Within a week, {N} "
     "birdwatchers had travelled to see it.",
     {"who": ("Who was the first person to photograph the bird?", "P1"),
      "where": ("Outside which town are the marshes where the bird was seen?", "T1"),
      "when": ("In which month was the bird spotted?", "MONTH"),
      "how_many": ("How many birdwatchers travelled to see the bird within a week?", "N"),
      "what": ("What kind of bird was spotted?", "X")},
     (40, 300), NO_RANGE,
     {"X": ("white stork", "purple heron", "hoopoe", "bee-eater", "snowy owl")}),
    ("{P1} opened a bicycle repair shop in an old {X} in {T1}. In its first month, the shop "
     "fixed {N} bicycles. Its busiest day is {DAY}, when students from the nearby college bring "
     "their bikes in.",
     {"who": ("Who opened the bicycle repair shop?", "P1"),
      "where": ("In which town is the bicycle repair shop?", "T1"),
      "when": ("Which is the shop's busiest day?", "DAY"),
      "how_many": ("How many bicycles did the shop fix in its first month?", "N")},
     (25, 160), NO_RANGE,
     {"X": ("railway station", "fire station", "bank building", "church hall", "post office")}),
    ("The students of {T1} High School planted {N} trees along the river in {MONTH}. The "
     "project was organised by their biology teacher, {P1}. Each tree has a small sign with the "
     "name of the student who planted it.",
     {"who": ("Who organised the tree-planting project?", "P1"),
      "where": ("Students from which town's high school planted the trees?", "T1"),
      "when": ("In which month were the trees planted?", "MONTH"),
      "how_many": ("How many trees did the students plant?", "N")},
     (30, 250), NO_RANGE, {}),
    ("{P1} is a glassblower with a workshop by the harbour of {T1}. Last year {P1F} made a {X} "
     "that now hangs in the town hall. It took {N} days to finish.",
     {"who": ("Who is the glassblower?", "P1"),
      "where": ("In which town is the glassblower's workshop?", "T1"),
      "how_many": ("How many days did the piece take to finish?", "N"),
      "what": ("What did the glassblower make last year?", "X")},
     (12, 90), NO_RANGE,
     {"X": ("chandelier of blue glass", "stained glass window", "large glass clock",
            "glass sculpture of a whale", "mirror framed in green glass")}),
    ("On {DAY}, the power went out across {T1} for {N} hours after a storm brought down a "
     "cable. {P1}, who runs the corner shop, handed out {X} to neighbours. Electricity came "
     "back just before midnight.",
     {"who": ("Who runs the corner shop?", "P1"),
      "where": ("In which town did the power go out?", "T1"),
      "when": ("On which day did the power go out?", "DAY"),
      "how_many": ("For how many hours was the power out?", "N"),
      "what": ("What did the shopkeeper hand out to neighbours?", "X")},
     (3, 9), NO_RANGE, {"X": ("candles", "torches", "blankets", "flasks of tea")}),
    ("{P1} found a {X} in the attic of a house {P1F} had just bought in {T1}. Inside were {N} "
     "letters written by a sailor to his family. {P1F} later gave them to the local history "
     "society.",
     {"who": ("Who found the letters?", "P1"),
      "where": ("In which town is the house with the attic?", "T1"),
      "how_many": ("How many letters were inside?", "N"),
      "what": ("What were the letters found in?", "X")},
     (12, 70), NO_RANGE,
     {"X": ("locked tin box", "dusty leather bag", "wooden sea chest", "sealed biscuit tin",
            "small canvas sack")}),
    ("The {T1} football team won the regional cup in {YEAR} after beating {T2} in the final. "
     "The only goal was scored by {P1} in the last minute. About {N} fans travelled with the "
     "team to the match.",
     {"who": ("Who scored the only goal of the final?", "P1"),
      "where": ("Which town's team lost the final?", "T2"),
      "when": ("In which year did the team win the regional cup?", "YEAR"),
      "how_many": ("About how many fans travelled with the team?", "N")},
     (150, 900), (1958, 2018), {}),
    ("{P1} teaches swimming at the public pool in {T1}. This season {P1F} has taught {N} "
     "children to swim. The lessons take place every {DAY} morning.",
     {"who": ("Who teaches swimming at the public pool?", "P1"),
      "where": ("In which town is the public pool?", "T1"),
      "when": ("On which morning do the lessons take place?", "DAY"),
      "how_many": ("How many children has the teacher taught to swim this season?", "N")},
     (15, 80), NO_RANGE, {}),
    ("A travelling circus arrived in {T1} in {MONTH} and set up its tent in a field by the "
     "river. The star act was {P1}, who juggled {N} flaming torches while riding a {X}.",
     {"who": ("Who was the star act of the circus?", "P1"),
      "where": ("In which town did the circus set up its tent?", "T1"),
      "when": ("In which month did the circus arrive?", "MONTH"),
      "how_many": ("How many flaming torches did the star act juggle?", "N"),
      "what": ("What was the juggler riding?", "X")},
     (3, 7), NO_RANGE, {"X": ("unicycle", "tall bicycle", "pony", "rolling barrel")}),
    ("{P1} grew a pumpkin weighing {N} kilograms in a back garden in {T1}. It won the giant "
     "vegetable contest at the harvest fair in {MONTH}. {P1F} plans to turn it into {X} for the "
     "whole street.",
     {"who": ("Who grew the pumpkin?", "P1"),
      "where": ("In which town was the pumpkin grown?", "T1"),
      "when": ("In which month was the harvest fair?", "MONTH"),
      "how_many": ("How many kilograms did the pumpkin weigh?", "N"),
      "what": ("What does the grower plan to turn the pumpkin into?", "X")},
     (60, 400), NO_RANGE,
     {"X": ("soup", "pies", "lanterns", "jam"), "MONTH": ("September", "October")}),
    ("The old cinema in {T1} reopened on {DAY} after being closed for {N} years. Its first "
     "film was a silent comedy, played with live piano music by {P1}. Every seat was taken.",
     {"who": ("Who played the piano music?", "P1"),
      "where": ("In which town did the old cinema reopen?", "T1"),
      "when": ("On which day did the cinema reopen?", "DAY"),
      "how_many": ("For how many years had the cinema been closed?", "N"),
      "what": ("What kind of film was shown first?", "X")},
     (6, 40), NO_RANGE, {"X": ("a silent comedy",)}),
    ("{P1}, a mountain guide from {T1}, led a group of {N} hikers to the summit of {X} in "
     "{MONTH}. They started before sunrise and reached the top by midday.",
     {"who": ("Who led the hikers?", "P1"),
      "where": ("Which town is the mountain guide from?", "T1"),
      "when": ("In which month did the group climb to the summit?", "MONTH"),
      "how_many": ("How many hikers were in the group?", "N"),
      "what": ("Which mountain did the group climb?", "X")},
     (5, 18), NO_RANGE,
     {"X": ("Mount Kessel", "Grey Crag", "Saddle Peak", "Mount Orrin", "Eagle Tor")}),
    ("At the {T1} science fair, {P1} showed a robot that sorts {X} by colour. The robot was "
     "built from the parts of {N} old printers. The judges gave it the prize for best "
     "invention.",
     {"who": ("Who built the robot shown at the science fair?", "P1"),
      "where": ("In which town was the science fair?", "T1"),
      "how_many": ("How many old printers were used to build the robot?", "N"),
      "what": ("What does the robot sort by colour?", "X")},
     (3, 9), NO_RANGE, {"X": ("socks", "marbles", "buttons", "building blocks", "sweets")}),
    ("{P1} walked from {T1} to {T2} to raise money for a children's hospital. The walk took "
     "{N} days, and people along the way offered food and water. {P1F} arrived on a {DAY} "
     "afternoon to a crowd of cheering friends.",
     {"who": ("Who walked to raise money for the hospital?", "P1"),
      "where": ("In which town did the walk end?", "T2"),
      "when": ("On which day did the walker arrive?", "DAY"),
      "how_many": ("How many days did the walk take?", "N")},
     (4, 21), NO_RANGE, {}),
    ("The library in {T1} received {N} old maps from the family of {P1}, a sea captain who "
     "died last year. The oldest map shows the coastline as it was in {YEAR}.",
     {"who": ("Whose family gave the maps to the library?", "P1"),
      "where": ("Which town's library received the maps?", "T1"),
      "when": ("The oldest map shows the coastline as it was in which year?", "YEAR"),
      "how_many": ("How many old maps did the library receive?", "N")},
     (20, 150), (1702, 1899), {}),
    ("{P1} baked a wedding cake with {N} layers for a couple in {T1}. The top layer was "
     "decorated with sugar {X}. The cake was delivered by van on {DAY} morning.",
     {"who": ("Who baked the wedding cake?", "P1"),
      "where": ("In which town did the couple who ordered the cake live?", "T1"),
      "when": ("On which morning was the cake delivered?", "DAY"),
      "how_many": ("How many layers did the cake have?", "N"),
      "what": ("What was the top layer decorated with?", "X")},
     (3, 7), NO_RANGE, {"X": ("violets", "lemons", "seashells", "stars", "roses")}),
    ("A stray dog followed {P1} home from the train station in {T1} one rainy evening in "
     "{MONTH}. {P1F} named the dog {X} and put up posters, but no owner came forward.",
     {"who": ("Whom did the stray dog follow home?", "P1"),
      "where": ("In which town is the train station?", "T1"),
      "when": ("In which month did the dog follow the person home?", "MONTH"),
      "what": ("What name was given to the dog?", "X")},
     NO_RANGE, NO_RANGE, {"X": ("Biscuit", "Pepper", "Captain", "Noodle", "Juniper")}),
    ("{P1} drives the night bus between {T1} and {T2}. When the roads are quiet, the journey "
     "takes {N} minutes. Most passengers are nurses and bakers going home after {X}.",
     {"who": ("Who drives the night bus?", "P1"),
      "how_many": ("How many minutes does the journey take when the roads are quiet?", "N"),
      "where": ("Between {T2} and which other town does the night bus run?", "T1"),
      "what": ("What are most of the passengers going home from?", "X")},
     (25, 75), NO_RANGE,
     {"X": ("late shifts", "night shifts", "long shifts")}),
    ("The kite festival in {T1} took place on a windy {DAY}. {P1} flew a kite shaped like a "
     "{X} that was longer than a bus. Over {N} kites filled the sky that afternoon.",
     {"who": ("Who flew the kite that was longer than a bus?", "P1"),
      "where": ("In which town was the kite festival?", "T1"),
      "when": ("On which day did the kite festival take place?", "DAY"),
      "how_many": ("Over how many kites filled the sky that afternoon?", "N"),
      "what": ("What was the long kite shaped like?", "X")},
     (80, 600), NO_RANGE, {"X": ("dragon", "whale", "shark", "snake", "butterfly")}),
    ("{P1} repairs old clocks in a narrow shop on {X} in {T1}. Last year {P1F} fixed {N} "
     "clocks. The oldest one came from a church tower and was made in {YEAR}.",
     {"who": ("Who repairs old clocks?", "P1"),
      "where": ("On which street is the clock shop?", "X"),
      "when": ("In which year was the oldest clock made?", "YEAR"),
      "how_many": ("How many clocks were fixed last year?", "N")},
     (40, 250), (1688, 1899),
     {"X": ("Mill Lane", "Rope Walk", "Chapel Street", "Tanner's Row", "Quay Street")}),
    ("A new footbridge over the river in {T1} was designed by {P1}, an architect who grew up "
     "in the town. It is {N} metres long and is lit by small {X} lamps at night. It opened in "
     "{MONTH} with a parade.",
     {"who": ("Who designed the footbridge?", "P1"),
      "where": ("In which town is the new footbridge?", "T1"),
      "when": ("In which month did the footbridge open?", "MONTH"),
      "how_many": ("How many metres long is the footbridge?", "N"),
      "what": ("What colour are the lamps on the footbridge?", "X")},
     (40, 260), NO_RANGE, {"X": ("blue", "green", "amber", "violet")}),
    ("{P1} and a team of volunteers cleaned the beach at {T1} on a {DAY} in spring. They "
     "collected {N} bags of rubbish, mostly {X}. The council provided gloves and hot drinks.",
     {"who": ("Who cleaned the beach with a team of volunteers?", "P1"),
      "where": ("Which town's beach was cleaned?", "T1"),
      "when": ("On which day of the week was the beach cleaned?", "DAY"),
      "how_many": ("How many bags of rubbish were collected?", "N"),
      "what": ("What was most of the rubbish?", "X")},
     (15, 90), NO_RANGE,
     {"X": ("plastic bottles", "fishing nets", "food wrappers", "old ropes", "bottle caps")}),
    ("The village choir of {T1} recorded its first album in an old chapel. It contains {N} "
     "songs, including a {X} written by the choir leader, {P1}. The album was released in "
     "{YEAR}.",
     {"who": ("Who wrote the {X} on the album?", "P1"),
      "where": ("Which village's choir recorded the album?", "T1"),
      "when": ("In which year was the album released?", "YEAR"),
      "how_many": ("How many songs does the album contain?", "N"),
      "what": ("What did the choir leader write for the album?", "X")},
     (8, 16), (1971, 2020), {"X": ("lullaby", "sea shanty", "harvest hymn", "winter carol")}),
    ("{P1} rescued a {X} that had become stuck in a drainpipe behind a restaurant in {T1}. It "
     "took {N} minutes to free the animal, which ran off unharmed.",
     {"who": ("Who rescued the animal?", "P1"),
      "where": ("In which town is the restaurant?", "T1"),
      "how_many": ("How many minutes did it take to free the animal?", "N"),
      "what": ("What animal was stuck in the drainpipe?", "X")},
     (10, 55), NO_RANGE,
     {"X": ("young fox", "hedgehog", "kitten", "squirrel", "duckling")}),
    ("In {MONTH}, {P1} sailed alone from {T1} across the bay in a small wooden boat called the "
     "{X}. The crossing took {N} hours because the wind dropped halfway.",
     {"who": ("Who sailed across the bay alone?", "P1"),
      "where": ("From which town did the crossing start?", "T1"),
      "when": ("In which month was the crossing?", "MONTH"),
      "how_many": ("How many hours did the crossing take?", "N"),
      "what": ("What was the boat called?", "X")},
     (5, 19), NO_RANGE,
     {"X": ("Little Wren", "Brave Tern", "Silver Minnow", "Kittiwake", "Dawn Runner")}),
    ("The first snow of the year fell on {T1} on {DAY}. Schools closed early, and {P1}, the "
     "owner of a hardware shop, sold {N} sledges before lunchtime.",
     {"who": ("Who owns the hardware shop?", "P1"),
      "where": ("On which town did the first snow fall?", "T1"),
      "when": ("On which day did the first snow fall?", "DAY"),
      "how_many": ("How many sledges were sold before lunchtime?", "N"),
      "what": ("What did the hardware shop sell before lunchtime?", "X")},
     (12, 70), NO_RANGE, {"X": ("sledges",)}),
    ("{P1} won the {T1} pie contest with a pie filled with {X}. There were {N} entries this "
     "year, and the judges tasted every one. The winner received a copper rolling pin.",
     {"who": ("Who won the pie contest?", "P1"),
      "where": ("Which town's pie contest was it?", "T1"),
      "how_many": ("How many entries were there this year?", "N"),
      "what": ("What was the winning pie filled with?", "X")},
     (20, 95), NO_RANGE,
     {"X": ("apples and ginger", "rhubarb and strawberries", "cherries", "pears and walnuts",
            "blackberries")}),
    ("Every {MONTH}, a volunteer named {P1} counts the swans on the lake in {T1}. This year "
     "the count reached {N}, the highest ever recorded. Most of the birds nest on a small "
     "island near the boathouse.",
     {"who": ("Who counts the swans?", "P1"),
      "where": ("In which town is the lake?", "T1"),
      "when": ("In which month are the swans counted?", "MONTH"),
      "how_many": ("How many swans were counted this year?", "N")},
     (30, 220), NO_RANGE, {}),
    ("{P1} runs a small farm outside {T1} with {N} goats. The goats' milk is made into {X} "
     "that is sold at the {DAY} market.",
     {"who": ("Who runs the goat farm?", "P1"),
      "where": ("Outside which town is the farm?", "T1"),
      "when": ("On which day is the market where the products are sold?", "DAY"),
      "how_many": ("How many goats are on the farm?", "N"),
      "what": ("What is the goats' milk made into?", "X")},
     (8, 60), NO_RANGE, {"X": ("cheese", "yoghurt", "soap", "ice cream")}),
    ("The {T1} theatre group performed a play written by {P1}, a sixteen-year-old student. "
     "It was a comedy about a {X} living in a lighthouse. The play ran for {N} nights in "
     "{MONTH}.",
     {"who": ("Who wrote the play?", "P1"),
      "where": ("Which town's theatre group performed the play?", "T1"),
      "when": ("In which month did the play run?", "MONTH"),
      "how_many": ("For how many nights did the play run?", "N"),
      "what": ("Which creature lives in the lighthouse in the play?", "X")},
     (3, 12), NO_RANGE,
     {"X": ("talking seagull", "clockwork fox", "lonely giant", "homesick penguin",
            "grumpy walrus")}),
    ("{P1} is the oldest postal worker in {T1} and has delivered letters there for {N} years. "
     "{P1F} rides a {X} bicycle and knows every dog on the route by name.",
     {"who": ("Who is the oldest postal worker in the town?", "P1"),
      "where": ("In which town does the postal worker deliver letters?", "T1"),
      "how_many": ("For how many years has the postal worker delivered letters there?", "N"),
      "what": ("What colour is the postal worker's bicycle?", "X")},
     (21, 44), NO_RANGE, {"X": ("red", "yellow", "dark green", "blue")}),
)  # fmt: skip

READING_KINDS: tuple[str, ...] = ("who", "where", "when", "what", "how_many")
READING_PER_KIND = 26


def _reading_slots(rng: random.Random, template: RcTemplate) -> dict[str, str]:
    _, _, n_range, year_range, lists = template
    firsts = rng.sample(RC_FIRST, 2)
    lasts = rng.sample(RC_LAST, 2)
    towns = rng.sample(RC_TOWNS, 2)
    slots = {
        "P1": f"{firsts[0]} {lasts[0]}",
        "P2": f"{firsts[1]} {lasts[1]}",
        "P1F": firsts[0],
        "P2F": firsts[1],
        "T1": towns[0],
        "T2": towns[1],
        "DAY": rng.choice(RC_DAYS),
        "MONTH": rng.choice(RC_MONTHS),
    }
    if n_range != NO_RANGE:
        slots["N"] = str(rng.randint(*n_range))
    if year_range != NO_RANGE:
        slots["YEAR"] = str(rng.randint(*year_range))
    for key, values in lists.items():
        slots[key] = rng.choice(values)
    return slots


def _fill_slots(text: str, slots: dict[str, str]) -> str:
    # Longest keys first so that {P1F} is not mistaken for {P1}.
    for key in sorted(slots, key=len, reverse=True):
        text = text.replace("{" + key + "}", slots[key])
    assert "{" not in text and "}" not in text, text
    return text


def build_reading(rng: random.Random) -> list[Item]:
    quota = dict.fromkeys(READING_KINDS, READING_PER_KIND)
    used: list[set[str]] = [set() for _ in READING_TEMPLATES]
    drafts: list[tuple[str, str, str, str]] = []
    seen: list[frozenset[str]] = []
    while sum(quota.values()) > 0:
        progressed = False
        for index, template in enumerate(READING_TEMPLATES):
            passage_template, questions = template[0], template[1]
            open_kinds = [k for k in READING_KINDS if k in questions and k not in used[index]]
            open_kinds = [k for k in open_kinds if quota[k] > 0]
            if not open_kinds:
                continue
            kind = max(open_kinds, key=lambda k: (quota[k], -READING_KINDS.index(k)))
            question_template, answer_slot = questions[kind]
            for _attempt in range(200):
                slots = _reading_slots(rng, template)
                passage = _fill_slots(passage_template, slots)
                question = _fill_slots(question_template, slots)
                answer = slots[answer_slot]
                words = word_set(passage + " " + question)
                if passage.count(answer) == 1 and not too_similar(words, seen):
                    break
            else:  # pragma: no cover - would mean the template is too narrow
                raise RuntimeError(f"no distinct variant for: {passage_template[:60]}")
            seen.append(words)
            used[index].add(kind)
            quota[kind] -= 1
            drafts.append((passage, question, answer, kind))
            progressed = True
            if sum(quota.values()) == 0:
                break
        if not progressed:
            raise RuntimeError(f"templates cannot fill the kind quota: {quota}")
    rng.shuffle(drafts)
    return [
        {"id": f"rc-{i + 1:03d}", "passage": p, "question": q, "answer": a, "kind": k}
        for i, (p, q, a, k) in enumerate(drafts)
    ]


# --------------------------------------------------------------------------------------------
# 4. Instruction following
# --------------------------------------------------------------------------------------------

# (task, words that fit the task for "contains", one word that would be natural to use but is
# avoidable, for "not_contains"). No listed word occurs in its own task text.
PROSE_TASKS: tuple[tuple[str, tuple[str, str], str], ...] = (
    ("Describe a rainy morning in a city.", ("umbrella", "puddle"), "grey"),
    ("Write a short thank-you note to a neighbour who watered your plants.",
     ("garden", "grateful"), "sorry"),
    ("Explain to a child why the sky gets dark at night.", ("sun", "Earth"), "moon"),
    ("Describe your ideal weekend breakfast.", ("coffee", "toast"), "bacon"),
    ("Give some advice to someone who is starting to learn the guitar.",
     ("practice", "chords"), "expensive"),
    ("Describe the sounds of a busy train station.", ("announcement", "footsteps"), "quiet"),
    ("Write a short product description for a reusable water bottle.", ("steel", "leak"),
     "plastic"),
    ("Explain how to make a cup of tea.", ("kettle", "milk"), "coffee"),
    ("Describe a walk through a forest in autumn.", ("leaves", "crunch"), "summer"),
    ("Write a message inviting a friend to a picnic on Saturday.", ("blanket", "sandwiches"),
     "weather"),
    ("Explain why sleep is important for students.", ("memory", "rest"), "coffee"),
    ("Describe a lighthouse on a stormy night.", ("beam", "waves"), "calm"),
    ("Write a short review of an imaginary pizza restaurant.", ("crust", "cheese"),
     "terrible"),
    ("Give tips for packing a suitcase for a weekend trip.", ("socks", "charger"), "forget"),
    ("Describe a cat waking up from a nap.", ("stretch", "yawn"), "purr"),
    ("Explain what a library card is used for.", ("borrow", "books"), "money"),
    ("Write a short weather forecast for a sunny day at the seaside.",
     ("temperature", "breeze"), "snow"),
    ("Describe the taste of a fresh lemon.", ("sour", "juice"), "sweet"),
    ("Give advice on how to stay calm before an exam.", ("breathe", "prepare"), "panic"),
    ("Describe a crowded market on a Saturday morning.", ("stalls", "vegetables"), "empty"),
    ("Write a short speech congratulating a team on winning a match.",
     ("proud", "together"), "lucky"),
    ("Explain how to plant a sunflower seed.", ("soil", "water"), "winter"),
    ("Describe a snowy village at dawn.", ("chimney", "silence"), "summer"),
    ("Write an apology to a friend for missing their birthday party.", ("sorry", "cake"),
     "busy"),
    ("Describe in simple terms how a bicycle moves forward.", ("pedals", "chain"), "engine"),
    ("Explain why people recycle paper.", ("trees", "waste"), "plastic"),
    ("Describe the view from the top of a hill.", ("valley", "horizon"), "building"),
    ("Write a short bedtime story about a brave mouse.", ("cheese", "whiskers"), "trap"),
    ("Explain why learning a second language is useful.", ("travel", "culture"),
     "difficult"),
    ("Describe a thunderstorm as seen from inside a cosy house.", ("lightning", "window"),
     "scared"),
    ("Write a short note asking a colleague to cover your shift on Friday.",
     ("favour", "thanks"), "sick"),
    ("Describe the smell of a bakery early in the morning.", ("bread", "warm"), "cake"),
    ("Explain how to wash your hands properly.", ("soap", "seconds"), "quick"),
    ("Describe a busy kitchen in a restaurant.", ("chef", "orders"), "quiet"),
    ("Write a postcard to a friend from a holiday in the mountains.", ("hiking", "view"),
     "beach"),
    ("Explain to a young child what a rainbow is.", ("light", "sky"), "magic"),
    ("Describe your favourite season and say why you like it.", ("weather", "because"),
     "perfect"),
    ("Write a short advertisement for a neighbourhood garage sale.", ("Saturday", "bargains"),
     "expensive"),
    ("Explain how a seed grows into a plant.", ("roots", "sunlight"), "flower"),
    ("Describe an old wooden boat on a lake.", ("oars", "paint"), "engine"),
    ("Write a message to a teacher asking for more time on an assignment.",
     ("deadline", "extra"), "lazy"),
    ("Describe the first day at a new school.", ("nervous", "classroom"), "boring"),
    ("Explain why it is good to drink water during exercise.", ("sweat", "thirsty"), "soda"),
    ("Describe a quiet evening at home.", ("book", "lamp"), "television"),
    ("Write a short poem about the ocean.", ("waves", "salt"), "blue"),
    ("Explain how to fold a paper aeroplane.", ("crease", "wings"), "glue"),
    ("Describe a street festival at night.", ("lanterns", "music"), "daylight"),
    ("Write a welcome message for new members of a hiking club.", ("trail", "boots"),
     "danger"),
    ("Explain why the moon seems to change shape during the month.", ("phases", "sunlight"),
     "clouds"),
    ("Describe a farmer's morning routine.", ("cows", "tractor"), "office"),
    ("Write a short complaint to a railway company about a late train.",
     ("delay", "platform"), "angry"),
    ("Describe the inside of an old attic.", ("dust", "boxes"), "modern"),
    ("Explain how to look after a goldfish.", ("tank", "food"), "bowl"),
    ("Describe a child learning to ride a bicycle.", ("wobble", "balance"), "crash"),
    ("Write a short note for a shared office fridge asking people to label their food.",
     ("name", "please"), "steal"),
    ("Describe a summer evening by a river.", ("sunset", "ducks"), "cold"),
    ("Explain why people wear helmets when cycling.", ("head", "safety"), "fashion"),
    ("Describe the feeling of finishing a long race.", ("tired", "legs"), "easy"),
    ("Write a short invitation to a school science fair.", ("experiments", "parents"),
     "boring"),
    ("Describe a grandparent's garden.", ("roses", "bench"), "concrete"),
    ("Explain what a compass is and how it helps hikers.", ("north", "needle"), "phone"),
    ("Describe a city at midnight.", ("streetlights", "taxis"), "sunshine"),
    ("Write a short message congratulating a friend on passing a driving test.",
     ("congratulations", "road"), "nervous"),
    ("Describe the first snowfall of winter.", ("flakes", "white"), "cold"),
    ("Explain how to make a simple cheese sandwich.", ("bread", "butter"), "meat"),
    ("Describe a dog playing in a park.", ("ball", "grass"), "leash"),
    ("Write a short thank-you message to a bus driver.", ("journey", "kind"), "sorry"),
    ("Describe a campfire under the stars.", ("flames", "marshmallows"), "smoke"),
    ("Explain why bees are important for gardens.", ("pollen", "flowers"), "honey"),
    ("Describe a rainy afternoon in a café.", ("coffee", "window"), "sunny"),
    ("Write a short note reminding your family to take out the rubbish.", ("Tuesday", "bins"),
     "forget"),
    ("Describe a mountain lake early in the morning.", ("mist", "reflection"), "crowded"),
)  # fmt: skip

LIST_TASKS: tuple[tuple[str, tuple[str, str], str], ...] = (
    ("List things to bring for a day at the beach.", ("sunscreen", "towel"), "phone"),
    ("List ways to save water at home.", ("shower", "tap"), "bath"),
    ("List healthy snacks for a long car journey.", ("fruit", "nuts"), "chocolate"),
    ("List tips for a good night's sleep.", ("screens", "dark"), "coffee"),
    ("List things that a new pet kitten needs.", ("litter", "food"), "expensive"),
    ("List reasons to learn to cook.", ("money", "healthy"), "restaurant"),
    ("List items for a basic first-aid kit.", ("bandages", "scissors"), "medicine"),
    ("List ways to make a small room feel bigger.", ("mirror", "light"), "paint"),
    ("List simple ways to reduce waste in the kitchen.", ("compost", "leftovers"), "plastic"),
    ("List activities for a rainy day indoors.", ("games", "baking"), "television"),
    ("List things to check before a long bicycle ride.", ("tyres", "brakes"), "helmet"),
    ("List tips for studying for a history test.", ("dates", "notes"), "cram"),
    ("List ingredients for a fruit salad.", ("apple", "banana"), "sugar"),
    ("List good habits for staying organised at work.", ("calendar", "priorities"),
     "stress"),
    ("List ways to be a good neighbour.", ("help", "noise"), "fence"),
    ("List things to pack for a camping trip.", ("tent", "torch"), "hotel"),
    ("List ways to stay warm in winter.", ("layers", "blanket"), "heater"),
    ("List reasons people enjoy gardening.", ("fresh air", "relax"), "money"),
    ("List tips for doing well in a job interview.", ("research", "questions"), "nervous"),
    ("List ways to exercise without going to a gym.", ("running", "stairs"), "machine"),
    ("List animals you might see on a farm.", ("sheep", "hens"), "tractor"),
)  # fmt: skip

# (what the JSON object describes, the keys it must use).
JSON_TASKS: tuple[tuple[str, tuple[str, str, str]], ...] = (
    ("a fictional book for a library catalogue", ("title", "author", "year")),
    ("a city for a travel guide", ("name", "country", "population")),
    ("a simple recipe for a cooking website", ("dish", "servings", "ingredients")),
    ("a pet on an animal shelter's website", ("name", "species", "age")),
    ("tomorrow's weather report", ("city", "temperature", "conditions")),
    ("a new film for a cinema listing", ("title", "genre", "rating")),
    ("a small shop for a street directory", ("shop_name", "opening_hours", "products")),
    ("a car offered by a rental company", ("make", "colour", "seats")),
    ("a train journey for a timetable app", ("from", "to", "duration_minutes")),
    ("a planet in a science-fiction story", ("planet", "moons", "climate")),
    ("the result of a football match for a sports page", ("home_team", "away_team", "score")),
    ("a holiday plan for a family", ("destination", "days", "activities")),
    ("one lesson in a school timetable", ("subject", "day", "room")),
    ("a houseplant for a garden centre label", ("plant", "light", "watering")),
    ("a music album in an online shop", ("album", "artist", "tracks")),
    ("a second-hand bicycle for sale", ("model", "price", "condition")),
)  # fmt: skip

JSON_FRAMES: tuple[str, ...] = (
    "Reply with only a JSON object describing {subject}, using exactly the keys {keys}. Do not "
    "write any text before or after the JSON object.",
    "Invent {subject} and return it as one JSON object with the keys {keys}. Your whole reply "
    "must be that JSON object and nothing else.",
    "Output a single JSON object about {subject}. It must have exactly these keys: {keys}. "
    "Write no explanation, just the object.",
    "Create a JSON object that represents {subject}, with the keys {keys}. Answer with the JSON "
    "object alone.",
)

STARTS: tuple[str, ...] = ("Here is", "In short,", "Honestly,", "To begin,", "Well,")
ENDS: tuple[str, ...] = ("That is all.", "Thank you for reading.", "I hope this helps.")

# Pairs of check types that are never combined (contradictory or hard to satisfy together).
INCOMPATIBLE: frozenset[frozenset[str]] = frozenset(
    frozenset(pair)
    for pair in (
        ("max_words", "min_words"),
        ("all_lowercase", "all_uppercase"),
        ("all_lowercase", "starts_with"),
        ("all_lowercase", "ends_with"),
        ("all_uppercase", "starts_with"),
        ("all_uppercase", "ends_with"),
        ("min_words", "line_count_max"),
    )
)

Check = dict[str, Any]


def _prose_constraint(
    kind: str, contains: Sequence[str], avoid: str, rng: random.Random
) -> tuple[Check, str]:
    if kind == "max_words":
        value: Any = rng.choice((20, 25, 30, 40, 50, 60))
        phrases = ("Use at most {v} words.", "Keep it to {v} words or fewer.",
                   "Your answer must not be longer than {v} words.")  # fmt: skip
    elif kind == "min_words":
        value = rng.choice((40, 50, 60, 80))
        phrases = ("Write at least {v} words.", "Use no fewer than {v} words.")
    elif kind == "contains":
        value = rng.choice(contains)
        phrases = ("Use the word '{v}'.", "Include the word '{v}' somewhere in your answer.",
                   "Make sure the word '{v}' appears in your answer.")  # fmt: skip
    elif kind == "not_contains":
        value = avoid
        phrases = ("Do not use the word '{v}'.", "Avoid the word '{v}' completely.")
    elif kind == "starts_with":
        value = rng.choice(STARTS)
        phrases = ("Begin your answer with the exact words '{v}'.",
                   "Start your answer with '{v}'.")  # fmt: skip
    elif kind == "ends_with":
        value = rng.choice(ENDS)
        phrases = ("End your answer with the exact sentence '{v}'",
                   "Finish with the sentence '{v}' and write nothing after it.")  # fmt: skip
    elif kind == "all_lowercase":
        options = ("Write everything in lowercase letters, with no capital letters at all.",
                   "Do not use any capital letters.")  # fmt: skip
        return {"type": kind}, rng.choice(options)
    elif kind == "all_uppercase":
        options = ("Write your whole answer in capital letters.",
                   "Use only uppercase letters, with no lowercase letters at all.")  # fmt: skip
        return {"type": kind}, rng.choice(options)
    elif kind == "line_count_max":
        value = rng.choice((1, 2, 3))
        if value == 1:
            phrases = ("Write it as a single line, with no line breaks.",)
        else:
            phrases = ("Use no more than {v} lines.", "Keep your answer to at most {v} lines.")
    else:  # pragma: no cover
        raise ValueError(kind)
    return {"type": kind, "value": value}, rng.choice(phrases).replace("{v}", str(value))


def _pick_kinds(
    pool: Sequence[str], count: int, usage: dict[str, int], rng: random.Random
) -> list[str]:
    """Least-used compatible check types first, ties broken by the seeded generator."""
    order = sorted(pool, key=lambda kind: (usage[kind], rng.random()))
    picked: list[str] = []
    for kind in order:
        if len(picked) == count:
            break
        if all(frozenset((kind, other)) not in INCOMPATIBLE for other in picked):
            picked.append(kind)
    assert len(picked) == count, (pool, count)
    for kind in picked:
        usage[kind] += 1
    return picked


def _check_bank() -> None:
    """The hand-written banks must not contradict their own constraints."""
    fixed = [*STARTS, *ENDS]
    for task, contains, avoid in PROSE_TASKS + LIST_TASKS:
        lowered = task.lower()
        assert avoid.lower() not in lowered, task
        for word in contains:
            assert word.lower() not in lowered, (task, word)
            assert avoid.lower() not in word.lower() and word.lower() not in avoid.lower()
        for phrase in fixed:
            assert avoid.lower() not in phrase.lower(), (avoid, phrase)


PROSE_CHECK_TYPES: tuple[str, ...] = (
    "max_words", "min_words", "contains", "not_contains", "starts_with", "ends_with",
    "all_lowercase", "all_uppercase", "line_count_max",
)  # fmt: skip
LIST_EXTRA_TYPES: tuple[str, ...] = (
    "max_words", "contains", "not_contains", "all_lowercase", "line_count_max",
)  # fmt: skip


def build_instructions(rng: random.Random) -> list[Item]:
    _check_bank()
    drafts: list[tuple[str, list[Check]]] = []
    usage = dict.fromkeys(PROSE_CHECK_TYPES, 0)

    prose = list(PROSE_TASKS)
    rng.shuffle(prose)
    for index, (task, contains, avoid) in enumerate(prose):
        count = (1, 2, 2, 3)[index % 4]
        parts = [task]
        checks: list[Check] = []
        for kind in _pick_kinds(PROSE_CHECK_TYPES, count, usage, rng):
            check, sentence = _prose_constraint(kind, contains, avoid, rng)
            checks.append(check)
            parts.append(sentence)
        drafts.append((" ".join(parts), checks))

    list_usage = dict.fromkeys(LIST_EXTRA_TYPES, 0)
    lists = list(LIST_TASKS)
    rng.shuffle(lists)
    for index, (task, contains, avoid) in enumerate(lists):
        bullets = rng.choice((3, 4, 5))
        parts = [
            task,
            rng.choice(
                (
                    f"Give exactly {bullets} bullet points, each on its own line and starting "
                    "with '- '.",
                    f"Write exactly {bullets} items as a bullet list, one per line, each line "
                    "starting with '- '.",
                )
            ),
        ]
        checks = [{"type": "bullet_count", "value": bullets}]
        for kind in _pick_kinds(LIST_EXTRA_TYPES, index % 3, list_usage, rng):
            if kind == "max_words":
                limit = 10 * bullets
                checks.append({"type": kind, "value": limit})
                parts.append(f"Use at most {limit} words in total.")
            elif kind == "line_count_max":
                checks.append({"type": kind, "value": bullets})
                parts.append(
                    f"Write nothing except the bullet points, so no more than {bullets} lines."
                )
            else:
                check, sentence = _prose_constraint(kind, contains, avoid, rng)
                checks.append(check)
                parts.append(sentence)
        drafts.append((" ".join(parts), checks))

    for index, (subject, keys) in enumerate(JSON_TASKS):
        quoted = ", ".join(f'"{key}"' for key in keys[:-1]) + f' and "{keys[-1]}"'
        parts = [JSON_FRAMES[index % len(JSON_FRAMES)].format(subject=subject, keys=quoted)]
        checks = [{"type": "json_object"}]
        extra = (index // len(JSON_FRAMES)) % 3
        if extra >= 1:
            key = rng.choice(keys)
            checks.append({"type": "contains", "value": f'"{key}"'})
        if extra == 2:
            checks.append({"type": "not_contains", "value": "```"})
            parts.append("Do not put it in a code block (no ``` marks).")
        drafts.append((" ".join(parts), checks))

    seen: list[frozenset[str]] = []
    for prompt, _ in drafts:
        words = word_set(prompt)
        assert not too_similar(words, seen), prompt
        seen.append(words)
    rng.shuffle(drafts)
    return [
        {"id": f"if-{i + 1:03d}", "prompt": prompt, "checks": checks}
        for i, (prompt, checks) in enumerate(drafts)
    ]


def main() -> None:
    rng = random.Random(SEED)
    write_jsonl(OUT_DIR / "commonsense_mc.jsonl", build_commonsense(rng))
    write_jsonl(OUT_DIR / "arithmetic.jsonl", build_arithmetic(rng))
    write_jsonl(OUT_DIR / "reading.jsonl", build_reading(rng))
    write_jsonl(OUT_DIR / "instructions.jsonl", build_instructions(rng))


if __name__ == "__main__":
    main()
