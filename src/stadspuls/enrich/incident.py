"""The incident vocabulary: our incident types, their words in several languages, and matching.

There is no labelled Dutch crisis data, so Dutch works through this vocabulary: every post is
scanned for hazard words (Dutch first, then English, German, French, Spanish, Portuguese,
Italian, Tagalog, Indonesian/Malay, Russian, Turkish) and each match switches on a language-free
*concept* feature ("fire", "flood", …). The incident model learns the weight of a concept from
English and Spanish crisis tweets and from synthetic examples built from this vocabulary, and
that weight applies unchanged to "uitslaande brand" or "Waldbrand": the vocabulary translates.

Term syntax: a leading `*` allows a compound prefix ("*brand" matches "woningbrand"), a
trailing `*` any continuation ("ontspo*" matches "ontspoord"); otherwise a term matches as a
whole word with an optional inflection ("brand", "branden"). Inside a hashtag any prefix and
continuation is allowed for terms of four letters or more ("#qldfloods", "#terremotocr").

The vocabulary is written from general domain knowledge (dispatch wording, news vocabulary),
never from the names, places or hashtags of the evaluation events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache

import ahocorasick
import numpy as np
import scipy.sparse as sp

from stadspuls.enrich.textclf import MENTION, URL

NONE = "none"
OTHER = "other"
LABELS: tuple[str, ...] = (
    "fire",
    "flood",
    "storm",
    "earthquake",
    "explosion",
    "shooting/violence",
    "crash/derailment",
    "collapse",
    "riot/disorder",
    "outbreak/health",
    "infrastructure outage",
    OTHER,
    NONE,
)

# CrisisLexT26/T6 event types (and a few other data sets' spellings) onto our labels.
CRISISLEX_TYPES: Mapping[str, str] = {
    "wildfire": "fire",
    "bushfire": "fire",
    "fire": "fire",
    "floods": "flood",
    "flood": "flood",
    "typhoon": "storm",
    "hurricane": "storm",
    "storm": "storm",
    "tornado": "storm",
    "earthquake": "earthquake",
    "explosion": "explosion",
    "bombings": "explosion",
    "bombing": "explosion",
    "shootings": "shooting/violence",
    "shooting": "shooting/violence",
    "derailment": "crash/derailment",
    "crash": "crash/derailment",
    "train crash": "crash/derailment",
    "building collapse": "collapse",
    "collapse": "collapse",
    "meteorite": OTHER,
    "meteor": OTHER,
    "haze": OTHER,
}

# "other" is a bag of rarer hazards; its details let an evaluation map "other" onto a data set
# that names them separately (CrisisLexT26 has both "Meteorite" and "Haze").
OTHER_DETAILS: tuple[str, ...] = ("meteor", "haze", "hazmat", "landslide", "volcano", "heat")

_L = dict[str, tuple[str, ...]]

# fmt: off
VOCABULARY: Mapping[str, _L] = {
    "fire": {
        "nl": ("*brand", "brandweer*", "brandje", "uitslaande brand", "rookontwikkeling",
               "rookwolk*", "*rookmelder", "vlammen", "vlammenzee", "in brand", "afgebrand",
               "uitgebrand", "brandend*", "vuurzee", "br woning", "br gebouw", "br bedrijf",
               "br industrie", "br wegvervoer", "br buiten", "br schoorsteen", "autom. brand",
               "brandmelding", "brandalarm", "nacontrole brand", "brandgerucht*",
               "handmelder*"),
        "en": ("*fire", "wildfire*", "bushfire*", "blaze*", "burning", "burned", "burnt",
               "flames", "ablaze", "on fire", "smoke", "firefighter*", "inferno", "arson"),
        "de": ("*brand", "feuer*", "großbrand", "waldbrand", "brennt", "brannte", "flammen",
               "feuerwehr*", "rauchentwicklung", "rauchwolke"),
        "fr": ("incendie*", "feu", "feux", "flammes", "pompiers", "brûle", "fumée"),
        "es": ("incendio*", "fuego*", "llamas", "quema*", "bomberos", "humo"),
        "pt": ("incêndio*", "queimada*", "chamas"),
        "it": ("incendio*", "fiamme", "vigili del fuoco"),
        "tl": ("sunog", "nasunog"),
        "id": ("kebakaran", "terbakar"),
        "ru": ("пожар*", "горит", "огонь"),
        "tr": ("yangın*",),
    },
    "flood": {
        "nl": ("overstroming*", "overstroomd*", "wateroverlast", "dijkdoorbraak",
               "dijkdoorbraken", "dijk", "dijken", "door te breken", "doorbreken", "hoogwater",
               "hoog water", "ondergelopen", "onder water", "onderwater", "waterstand*",
               "ondergelopen kelder*", "noodoverloop", "evacuatie polder"),
        "en": ("*flood*", "flooding", "inundat*", "flash flood*", "levee*", "high water",
               "rising water*", "river level*", "overflow*", "submerged", "underwater",
               "water level*", "rainfall", "heavy rain*", "torrential"),
        "de": ("hochwasser", "überschwemmung*", "überflutung*", "flut", "deichbruch",
               "sturzflut", "pegel*"),
        "fr": ("inondation*", "inondé*", "crue*", "montée des eaux"),
        "es": ("inundaci*", "inundado*", "desbord*", "crecida*", "riada*", "lluvias"),
        "pt": ("enchente*", "inundaç*", "alagamento*", "alagad*"),
        "it": ("alluvione", "inondazion*", "esondazion*"),
        "tl": ("baha", "bumaha", "pagbaha", "binaha", "ulan"),
        "id": ("banjir*",),
        "ru": ("наводнен*", "потоп*", "паводок*"),
        "tr": ("sel", "taşkın"),
    },
    "storm": {
        "nl": ("storm", "stormen", "stormschade", "stormachtig", "windhoos", "noodweer",
               "onweer*", "zware windstoten", "windstoten", "orkaan*", "tornado", "hagel*",
               "omgewaaid*", "omgevallen boom", "boom op de weg", "code oranje", "code rood",
               "wervelstorm", "tyfoon"),
        "en": ("storm*", "typhoon*", "hurricane*", "cyclone*", "tornado*", "twister",
               "gale*", "strong wind*", "high wind*", "landfall", "supertyphoon", "hailstorm",
               "wind damage", "storm surge"),
        "de": ("sturm", "stürme", "orkan*", "unwetter", "taifun*", "hurrikan*", "windhose",
               "sturmschäden", "gewitter*"),
        "fr": ("tempête*", "ouragan*", "typhon*", "cyclone*", "tornade*", "orage*"),
        "es": ("tormenta*", "tifón", "tifon", "huracán", "huracan", "ciclón", "tornado*",
               "vendaval*", "temporal"),
        "pt": ("tempestade*", "furacão", "tufão", "vendaval"),
        "it": ("tempesta", "uragano", "tifone", "tromba d'aria", "maltempo"),
        "tl": ("bagyo", "bumagyo", "storm signal"),
        "id": ("badai", "topan", "angin puting beliung"),
        "ru": ("шторм*", "ураган*", "тайфун*", "смерч*"),
        "tr": ("fırtına*", "kasırga*"),
    },
    "earthquake": {
        "nl": ("aardbeving*", "beving", "bevingen", "aardschok*", "naschok*", "epicentrum",
               "schaal van richter"),
        "en": ("*quake*", "tremor*", "seismic", "aftershock*", "epicenter", "epicentre",
               "magnitude", "richter"),
        "de": ("erdbeben*", "beben", "nachbeben", "erdstoß*"),
        "fr": ("séisme*", "tremblement de terre", "tremblements de terre", "secousse*",
               "réplique*", "sismique"),
        "es": ("terremoto*", "sismo*", "temblor*", "réplica*", "sísmic*", "epicentro"),
        "pt": ("terremoto*", "sismo*", "tremor de terra"),
        "it": ("terremoto*", "scossa*", "sisma"),
        "tl": ("lindol", "lumindol", "niyanig"),
        "id": ("gempa*",),
        "ru": ("землетрясен*", "толчк*"),
        "tr": ("deprem*",),
    },
    "explosion": {
        "nl": ("explosie*", "ontploffing*", "ontploft", "ontplofte", "gasexplosie*", "bom",
               "bommen", "bomaanslag*", "bommelding", "explosief", "explosieven",
               "plofkraak*", "harde knal", "luide knal", "knal gehoord", "springstof*",
               "vuurwerkbom*"),
        "en": ("explosion*", "explode*", "exploding", "blast*", "bomb", "bombs", "bombing*",
               "bomber*", "detonat*", "ied", "explosive*"),
        "de": ("explosion*", "explodiert*", "detonation*", "bombe*", "sprengsatz",
               "anschlag*"),
        "fr": ("explosion*", "explosé", "bombe*", "déflagration", "attentat*"),
        "es": ("explosi*", "explot*", "estallido*", "bomba*", "atentado*"),
        "pt": ("explosão", "explosões", "bomba*"),
        "it": ("esplosion*", "bomba"),
        "tl": ("pagsabog", "sumabog"),
        "id": ("ledakan", "meledak", "bom"),
        "ru": ("взрыв*",),
        "tr": ("patlama*",),
    },
    "shooting/violence": {
        "nl": ("schietpartij*", "schietincident*", "schoten gelost", "schoten", "beschoten",
               "neergeschoten", "doodgeschoten", "geschoten", "steekpartij*", "steekincident*",
               "neergestoken", "doodgestoken", "gestoken", "mesaanval*", "mesincident",
               "vuurwapen*", "schutter", "geweld", "vechtpartij*", "mishandeling", "liquidatie",
               "gijzeling*", "terreur*", "aanslag*", "overval*"),
        "en": ("shooting*", "shooter*", "gunman", "gunmen", "gunfire", "gunshot*", "shot",
               "shots", "shots fired", "opened fire", "open fire", "gun", "guns", "stabbing*",
               "stabbed", "knife attack", "attacker", "hostage*", "terror*",
               "murder*", "massacre", "assault", "active shooter"),
        "de": ("schießerei*", "schüsse", "schütze", "erschossen", "messerangriff",
               "messerstecherei", "amoklauf", "geiselnahme", "gewalt"),
        "fr": ("fusillade*", "coups de feu", "tireur*", "tué*", "poignardé*", "prise d'otage*",
               "attaque"),
        "es": ("tiroteo*", "disparo*", "balacera*", "balea*", "pistolero*", "tirador*",
               "apuñala*", "asesin*"),
        "pt": ("tiroteio*", "disparos", "atirador*", "esfaqueado*"),
        "it": ("sparatoria*", "spari", "accoltellat*"),
        "tl": ("barilan", "binaril", "pamamaril"),
        "id": ("penembakan", "ditembak"),
        "ru": ("стрельб*", "перестрелк*"),
        "tr": ("silahlı saldırı",),
    },
    "crash/derailment": {
        "nl": ("aanrijding*", "ongeval*", "ongeluk*", "ontsporing*", "ontspoord*", "botsing*",
               "gebotst", "frontale botsing", "kop-staartbotsing*", "verkeersongeval*",
               "treinongeluk*", "treinongeval*", "neergestort", "vliegtuigongeluk*",
               "aangereden", "ongeval wegvervoer", "ongeval spoorvervoer", "ongeval letsel",
               "kettingbotsing*", "gecrasht", "crash", "uit de bocht", "over de kop",
               "te water geraakt", "beknelling", "bekneld"),
        "en": ("*crash*", "derail*", "collision*", "collided", "accident*", "wreck*",
               "pile-up", "pileup", "train crash", "plane crash", "car crash", "overturned",
               "went off the rails"),
        "de": ("unfall", "unfälle", "zugunglück", "zusammenstoß", "entgleis*", "kollision",
               "verkehrsunfall", "absturz", "abgestürzt"),
        "fr": ("accident*", "collision*", "déraill*", "carambolage*", "accident de train"),
        "es": ("accidente*", "choque*", "descarril*", "colisi*", "siniestro*"),
        "pt": ("acidente*", "descarril*", "colisão", "batida"),
        "it": ("incidente*", "deragliament*", "scontro"),
        "tl": ("aksidente", "banggaan", "nabangga"),
        "id": ("kecelakaan", "tabrakan"),
        "ru": ("авари*", "крушен*", "столкновен*"),
        "tr": ("kaza*",),
    },
    "collapse": {
        "nl": ("instorting*", "ingestort", "instortingsgevaar", "stortte in", "storten in",
               "ingezakt", "bezweken", "ingestorte", "dak ingestort", "verzakking*"),
        "en": ("collaps*", "caved in", "cave-in", "structural failure", "building collapse",
               "roof collapse", "rubble", "debris", "trapped under"),
        "de": ("eingestürzt", "einsturz", "einsturzgefahr"),
        "fr": ("effondr*", "écroulé*"),
        "es": ("derrumb*", "colaps*", "escombros", "se desplomó"),
        "pt": ("desabamento*", "desabou", "desmoronamento"),
        "it": ("crollo", "crollat*", "macerie"),
        "tl": ("gumuho", "guho", "bumagsak"),
        "id": ("runtuh", "ambruk"),
        "ru": ("обрушен*",),
        "tr": ("çöktü", "göçük"),
    },
    "riot/disorder": {
        "nl": ("rellen", "relletjes", "relschopper*", "ongeregeldheden", "opstootje*",
               "onrust", "plundering*", "geplunderd", "noodbevel", "noodverordening",
               "ordeverstoring*", "openbare orde", "mobiele eenheid", "vuurwerkrellen",
               "stenen gegooid", "avondklokrellen"),
        "en": ("riot*", "unrest", "looting", "looters", "looted", "clashes", "disorder",
               "tear gas", "mob", "protesters clash"),
        "de": ("krawall*", "ausschreitungen", "unruhen", "plünderung*"),
        "fr": ("émeute*", "pillage*", "affrontements", "violences urbaines"),
        "es": ("disturbios", "saqueo*", "enfrentamientos"),
        "pt": ("tumulto*", "saque*", "confronto*"),
        "it": ("scontri", "saccheggi*"),
        "id": ("kerusuhan", "penjarahan"),
        "ru": ("беспорядк*", "мародер*"),
        "tr": ("isyan",),
    },
    "outbreak/health": {
        "nl": ("uitbraak", "besmetting*", "besmet", "epidemie*", "pandemie*", "virus*",
               "corona*", "covid*", "legionella", "mazelen", "vogelgriep", "griepgolf",
               "voedselvergiftiging", "ziekenhuisopname*", "q-koorts", "rivm", "ggd"),
        "en": ("outbreak*", "epidemic*", "pandemic*", "infection*", "infected", "virus*",
               "disease*", "cholera", "ebola", "measles", "covid*", "coronavirus",
               "food poisoning", "contaminat*", "quarantine", "leptospirosis", "dengue"),
        "de": ("ausbruch", "epidemie", "infektion*", "seuche", "krankheit*"),
        "fr": ("épidémie*", "contamination*", "maladie*"),
        "es": ("brote*", "epidemia*", "contagio*", "enfermedad*"),
        "pt": ("surto*", "epidemia*"),
        "it": ("epidemia", "focolaio", "contagi*"),
        "id": ("wabah", "penyakit"),
        "ru": ("эпидеми*", "вспышк*"),
        "tr": ("salgın",),
    },
    "infrastructure outage": {
        "nl": ("stroomstoring*", "storing", "storingen", "stroomuitval", "black-out",
               "blackout", "zonder stroom", "geen stroom", "geen internet", "internetstoring*",
               "telefoonstoring*", "gasstoring*", "112-storing", "storing 112", "uitval",
               "treinstoring*", "seinstoring*", "wisselstoring*", "geen treinen",
               "waterleiding*", "drinkwater", "kpn-storing", "netwerkstoring*"),
        "en": ("power outage*", "outage*", "blackout*", "power cut*", "without power",
               "no power", "power out", "lost power", "power lines", "power restored",
               "no electricity", "electricity", "no water", "water supply", "network down",
               "service disruption", "communication lines"),
        "de": ("stromausfall", "störung*", "ausfall", "ohne strom", "netzausfall"),
        "fr": ("panne*", "coupure de courant", "coupure d'électricité", "sans électricité"),
        "es": ("apagón", "apagon", "sin luz", "corte de luz", "sin electricidad",
               "sin agua", "energía eléctrica"),
        "pt": ("apagão", "falta de luz", "sem luz"),
        "it": ("blackout", "senza corrente"),
        "tl": ("brownout", "walang kuryente"),
        "id": ("pemadaman listrik", "listrik padam", "mati listrik"),
        "ru": ("отключени*", "без света"),
        "tr": ("elektrik kesintisi",),
    },
    "meteor": {
        "nl": ("meteoor*", "meteoriet*", "vuurbal"),
        "en": ("meteor*", "asteroid*", "fireball"),
        "de": ("meteor*",),
        "fr": ("météor*",),
        "es": ("meteor*",),
        "ru": ("метеор*", "болид*"),
    },
    "haze": {
        "nl": ("smog", "luchtkwaliteit", "rookoverlast", "nevel"),
        "en": ("haze", "hazy", "smog", "air quality", "air pollution", "pollutant*"),
        "de": ("smog", "luftverschmutzung", "feinstaub"),
        "fr": ("brume", "pollution"),
        "es": ("bruma", "calima", "contaminación"),
        "id": ("kabut asap", "jerebu"),
    },
    "hazmat": {
        "nl": ("gaslek*", "gaslucht", "gaslekkage", "co-melder", "koolmonoxide",
               "gevaarlijke stof*", "giftige wolk", "chemische lucht", "asbest", "ammoniak",
               "lekkage", "stank", "stank/hinder", "liftopsluiting*", "persoon te water"),
        "en": ("gas leak*", "chemical spill*", "toxic", "hazmat", "ammonia", "carbon monoxide"),
        "de": ("gasleck", "gasaustritt", "giftwolke"),
        "fr": ("fuite de gaz",),
        "es": ("fuga de gas",),
    },
    "landslide": {
        "nl": ("aardverschuiving*", "modderstroom*", "lawine*"),
        "en": ("landslide*", "mudslide*", "avalanche*", "sinkhole*"),
        "de": ("erdrutsch*", "lawine*", "murenabgang"),
        "fr": ("glissement de terrain",),
        "es": ("deslave*", "alud*", "deslizamiento*"),
        "tl": ("landslide", "pagguho ng lupa"),
        "id": ("tanah longsor", "longsor"),
    },
    "volcano": {
        "nl": ("vulkaan*", "uitbarsting*"),
        "en": ("volcan*", "eruption*", "erupt*", "lava"),
        "de": ("vulkan*",),
        "es": ("volcán", "volcan*", "erupción"),
    },
    "heat": {
        "nl": ("hittegolf", "droogte", "natuurbrandgevaar", "extreme hitte"),
        "en": ("heatwave", "heat wave", "drought", "heat stroke"),
        "de": ("hitzewelle", "dürre"),
        "es": ("ola de calor", "sequía"),
    },
}
# fmt: on

# The concept features, in column order: the hazard labels (not "other"/"none") and the
# details of "other" (a post about smog switches on "haze"; the model learns haze -> other).
CONCEPTS: tuple[str, ...] = tuple(label for label in LABELS if label not in (OTHER, NONE)) + (
    OTHER_DETAILS
)

_INFLECTIONS = frozenset(
    {"", "s", "es", "e", "en", "n", "ed", "d", "ing", "ings", "er", "ers", "t", "te", "ten",
     "je", "jes", "tje", "tjes", "ly", "y"}
)  # fmt: skip


class _Term:
    __slots__ = ("any_prefix", "any_suffix", "concept", "length")

    def __init__(self, concept: int, length: int, any_prefix: bool, any_suffix: bool) -> None:
        self.concept = concept
        self.length = length
        self.any_prefix = any_prefix
        self.any_suffix = any_suffix


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


class Vocabulary:
    """Finds the concepts of `CONCEPTS` in texts (Aho-Corasick: one pass, any vocabulary size)."""

    def __init__(self, vocabulary: Mapping[str, Mapping[str, Iterable[str]]] = VOCABULARY):
        index = {concept: i for i, concept in enumerate(CONCEPTS)}
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[_Term]] = {}
        for concept, by_lang in vocabulary.items():
            for terms in by_lang.values():
                for raw in terms:
                    key = _normalise(raw.strip("*"))
                    term = _Term(index[concept], len(key), raw.startswith("*"), raw.endswith("*"))
                    entries.setdefault(key, []).append(term)
        for key, found in entries.items():
            self._automaton.add_word(key, found)
        self._automaton.make_automaton()

    def find(self, text: str) -> set[int]:
        """The indices (into `CONCEPTS`) of the concepts whose words occur in `text`."""
        low = _normalise(text)
        size = len(low)
        found: set[int] = set()
        for end, terms in self._automaton.iter(low):
            for term in terms:
                if term.concept in found:
                    continue
                start = end - term.length + 1
                word_start = start
                while word_start > 0 and low[word_start - 1].isalnum():
                    word_start -= 1
                word_end = end + 1
                while word_end < size and low[word_end].isalnum():
                    word_end += 1
                hashtag = word_start > 0 and low[word_start - 1] == "#" and term.length >= 4
                if not (hashtag or term.any_prefix) and word_start != start:
                    continue
                if not (hashtag or term.any_suffix) and low[end + 1 : word_end] not in _INFLECTIONS:
                    continue
                found.add(term.concept)
        return found

    def concepts(self, text: str) -> list[str]:
        return [CONCEPTS[i] for i in sorted(self.find(text))]

    def matrix(self, texts: Sequence[str]) -> sp.csr_matrix:
        """A (len(texts), len(CONCEPTS)) 0/1 matrix: the model's language-free features."""
        indptr = [0]
        indices: list[int] = []
        for text in texts:
            indices.extend(sorted(self.find(text)))
            indptr.append(len(indices))
        data = np.ones(len(indices), dtype=np.float32)
        return sp.csr_matrix((data, indices, indptr), shape=(len(texts), len(CONCEPTS)))


@cache
def default_vocabulary() -> Vocabulary:
    return Vocabulary()


def label_of_concept(concept: str) -> str:
    """The incident label a concept stands for ("haze" -> "other")."""
    return OTHER if concept in OTHER_DETAILS else concept


def rule_label(text: str, vocabulary: Vocabulary | None = None) -> str | None:
    """The label when the vocabulary names exactly one incident label, else None (ambiguous)."""
    labels = {label_of_concept(c) for c in (vocabulary or default_vocabulary()).concepts(text)}
    return labels.pop() if len(labels) == 1 else None


def map_event_type(event_type: str) -> str:
    """A data set's event type ("Wildfire", "Floods", …) onto our labels; unknown -> other."""
    return CRISISLEX_TYPES.get(event_type.strip().lower(), OTHER)


# --- masking what is specific to one event -------------------------------------------------------

_HASHTAG_RE = re.compile(r"#(\w+)")
_NUMBER_RE = re.compile(r"\d+(?:[.,:/-]\d+)*")
# A word that starts with a capital (Latin, Greek or Cyrillic script).
_CAPITAL_RE = re.compile(r"(?<![\w#@])([A-ZÀ-ÖØ-ÞΑ-ΩА-ЯЁ][\w'’-]*)")
_SENTENCE_END = frozenset('.!?:;\n"“”…|-–—')
# Capitalised words that are how people write about any event, not names of one.
_KEEP_CAPITALS = frozenset(
    {"rt", "breaking", "update", "urgent", "live", "news", "video", "photos", "photo", "pls",
     "please", "omg", "wow", "help", "rip", "pray", "i", "i'm", "im", "we", "you", "my"}
)  # fmt: skip


@cache
def _is_hazard_word(word: str) -> bool:
    return bool(default_vocabulary().find(word))


def _hashtag(match: re.Match[str]) -> str:
    found = default_vocabulary().concepts(match.group(0))
    return " ".join(f"#{c.split('/')[0].split()[0]}" for c in found) if found else " #tag "


def _capital(match: re.Match[str]) -> str:
    word = match.group(1)
    start = match.start(1)
    text = match.string
    before = text[:start].rstrip()
    if not before or before[-1] in _SENTENCE_END:  # a sentence's first word: any word
        return word
    if word.lower() in _KEEP_CAPITALS or _is_hazard_word(word):
        return word
    return "Name"


def mask_event_tokens(text: str) -> str:
    """The text with what names one event masked: links, handles, numbers, hashtags (kept as
    the hazard concept they name, "#qldfloods" -> "#flood") and capitalised words that are not
    hazard words (place and person names: "Lac-Mégantic" -> "Name"), so a model learns how
    people write about a hazard rather than which hazard was in the news at that place."""
    text = URL.sub(" httpurl ", text)
    text = MENTION.sub(" @user ", text)
    text = _HASHTAG_RE.sub(_hashtag, text)
    text = _NUMBER_RE.sub("0", text)
    return _CAPITAL_RE.sub(_capital, text)


# A story's further types: labels on at least this share of its labelled posts (and two posts).
STORY_SHARE = 0.25
STORY_MAX_TYPES = 3


def story_types(
    primary: Mapping[str, int], votes: Mapping[str, int], share: float = STORY_SHARE
) -> tuple[str, ...]:
    """A story's incident types from its posts' labels, the primary hazard first.

    `primary` counts the posts' first labels (the cause each post was typed with), `votes` every
    label of every post. "none" is ignored: chatter in a story does not make it a non-incident.
    The first type is the most frequent first label (ties: more votes overall, then the name);
    a further type joins when at least `share` of the labelled posts carry it.
    """
    counts = {k: v for k, v in primary.items() if k != NONE and v > 0}
    if not counts:
        return ()
    first = max(sorted(counts), key=lambda k: (counts[k], votes.get(k, 0)))
    labelled = sum(counts.values())
    floor = max(2.0, share * labelled)
    rest = sorted(
        (k for k, v in votes.items() if k not in (NONE, first) and v >= floor),
        key=lambda k: (-votes[k], k),
    )
    return (first, *rest[: STORY_MAX_TYPES - 1])
