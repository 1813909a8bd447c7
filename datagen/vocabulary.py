"""Genre names and the English words that generated titles and plots are made of."""


def _words(text):
    """Return the whitespace-separated words of ``text`` as a tuple."""
    return tuple(text.split())


# The 26 genres of the legacy file, weighted by how many of its 999 films carry each.
LEGACY_GENRES = {
    "Sci-Fi": 311,
    "Action": 244,
    "Adventure": 213,
    "Comedy": 206,
    "Drama": 190,
    "Short": 172,
    "Documentary": 157,
    "Animation": 141,
    "Family": 95,
    "Fantasy": 88,
    "Romance": 77,
    "Music": 69,
    "Reality-TV": 38,
    "Biography": 32,
    "Thriller": 27,
    "Musical": 24,
    "Sport": 23,
    "History": 20,
    "Western": 18,
    "Game-Show": 17,
    "Horror": 16,
    "Mystery": 14,
    "Crime": 14,
    "War": 12,
    "Talk-Show": 8,
    "News": 5,
}

# The long tail a catalogue of 200,000 films has beyond those 26.
SUBGENRES = (
    "Neo-Noir",
    "Film Noir",
    "Space Opera",
    "Heist",
    "Cyberpunk",
    "Steampunk",
    "Dystopian",
    "Post-Apocalyptic",
    "Time Travel",
    "Alien Invasion",
    "Kaiju",
    "Superhero",
    "Sword and Sorcery",
    "High Fantasy",
    "Dark Fantasy",
    "Urban Fantasy",
    "Fairy Tale",
    "Slasher",
    "Found Footage",
    "Body Horror",
    "Supernatural Horror",
    "Psychological Horror",
    "Folk Horror",
    "Zombie",
    "Vampire",
    "Werewolf",
    "Monster",
    "Gothic",
    "Giallo",
    "Splatter",
    "Psychological Thriller",
    "Erotic Thriller",
    "Political Thriller",
    "Legal Thriller",
    "Spy",
    "Conspiracy Thriller",
    "Techno-Thriller",
    "Survival",
    "Disaster",
    "Martial Arts",
    "Wuxia",
    "Samurai",
    "Swashbuckler",
    "Sword and Sandal",
    "Gangster",
    "Mafia",
    "Caper",
    "Buddy Cop",
    "Police Procedural",
    "Whodunit",
    "Hardboiled Detective",
    "Courtroom Drama",
    "Prison Drama",
    "Coming-of-Age",
    "Teen Comedy",
    "Romantic Comedy",
    "Screwball Comedy",
    "Slapstick",
    "Black Comedy",
    "Satire",
    "Parody",
    "Mockumentary",
    "Stoner Comedy",
    "Sketch Comedy",
    "Stand-Up",
    "Melodrama",
    "Period Drama",
    "Costume Drama",
    "Historical Epic",
    "Epic",
    "Tragedy",
    "Family Saga",
    "Medical Drama",
    "Political Drama",
    "Sports Drama",
    "Docudrama",
    "True Crime",
    "Nature Documentary",
    "Concert Film",
    "Jukebox Musical",
    "Rock Opera",
    "Dance",
    "Anime",
    "Stop-Motion",
    "Claymation",
    "Computer Animation",
    "Hand-Drawn Animation",
    "Adult Animation",
    "Space Western",
    "Spaghetti Western",
    "Revisionist Western",
    "Contemporary Western",
    "Road Movie",
    "Buddy Comedy",
    "Sea Adventure",
    "Jungle Adventure",
    "Treasure Hunt",
    "Globetrotting Adventure",
    "Military",
    "War Epic",
    "Anti-War",
    "Cold War",
    "Espionage",
    "Hacker",
    "Artificial Intelligence",
    "Mecha",
    "Hard Science Fiction",
    "Alternate History",
    "Utopian",
    "Holiday",
    "Christmas",
    "Teen Drama",
    "Experimental",
    "Art House",
    "Avant-Garde",
    "Silent Film",
    "Erotic Drama",
    "Psychological Drama",
    "Social Drama",
    "Workplace Comedy",
    "Sitcom",
    "Soap Opera",
    "Anthology",
    "Cosmic Horror",
    "Creature Feature",
    "Ghost Story",
    "Haunted House",
    "Home Invasion",
    "Revenge",
    "Vigilante",
    "Prison Break",
    "Cyber Thriller",
)

EN_TITLE_ADJECTIVES = _words(
    """
    Dark Silent Last Lost Broken Hidden Golden Crimson Wild Eternal Forgotten Burning
    Frozen Midnight Savage Secret Endless Fallen Final Iron Silver Velvet Hollow Distant
    Bitter Little Lonely Perfect Deadly Sacred Electric Wicked Quiet Restless Shattered
    Scarlet Black White Blue Red Green Northern Southern Western Eastern Infinite
    Invisible Stolen Twisted Violent Brave Young Old Lucky Strange Beautiful Cold Long
    Summer Winter First Great Sweet Royal Wandering Rising Hungry Haunted Holy Mad Happy
    Blind Sleeping Dancing Running Flying Shining Raging Empty Hard Lethal Fearless
    Reckless Gentle Proud Wounded Faithful Desperate Cosmic Neon Atomic Grand Lone Fatal
    Perilous Glass Paper Stone
    """
)

EN_TITLE_NOUNS = _words(
    """
    Star Night City River Road House Heart Dream Shadow Storm Fire Ocean Sky Moon Sun
    Garden Kingdom Empire Island Mountain Valley Forest Desert Bridge Tower Castle Train
    Ship Game War Love Promise Hunter Stranger Soldier Witness Angel Devil Ghost King
    Queen Prince Princess Knight Thief Detective Doctor Teacher Captain Pilot Dancer
    Singer Child Daughter Son Brother Sister Mother Father Widow Legend Mirror Door
    Window Letter Song Dance Frontier Horizon Harbor Station Highway Circus Carnival
    Hotel Diner Prison Hospital School Academy Planet Galaxy Machine Robot Signal Code
    Mission Project Experiment Conspiracy Revenge Redemption Escape Return Journey
    Voyage Odyssey Quest Chase Heist Deal Wedding Funeral Holiday Reunion Inheritance
    Curse Prophecy Dragon Wolf Tiger Eagle Raven Serpent Horse Lion Fox Bear Shark Crown
    Sword Key Map Compass Lantern Clock Rose Orchid Harvest Flood Winter Summer Sunset
    Dawn Eclipse Comet Orbit Voice Silence Secret
    """
)

EN_TITLE_PLURALS = _words(
    """
    Stars Shadows Dreams Strangers Ghosts Kings Wolves Thieves Children Angels Heroes
    Secrets Lies Days Nights Years Hearts Roads Rivers Machines Soldiers Brothers
    Sisters Lovers Spies Outlaws Dragons Gods Monsters Giants Pirates Vampires Witches
    Saints Sinners Waves Stones Bones Flowers Roses Wings Bells Echoes Tears Promises
    Memories Games Legends Horses Islands Mountains Storms Fires Clouds Birds Streets
    Guns Diamonds Mirrors Letters Songs Whispers Footsteps Rebels
    """
)

EN_PREPOSITIONS = _words(
    """
    Beyond Under Behind Across Into Beneath Above After Before Inside Against Through
    Without Toward Below
    """
)

EN_VERBS_ING = (
    "Chasing",
    "Finding",
    "Saving",
    "Hunting",
    "Losing",
    "Catching",
    "Killing",
    "Leaving",
    "Waking",
    "Breaking",
    "Raising",
    "Becoming",
    "Burning",
    "Crossing",
    "Following",
    "Remembering",
    "Searching for",
    "Running from",
    "Dancing with",
    "Waiting for",
    "Fighting",
    "Stealing",
    "Loving",
    "Escaping",
)

EN_NUMBERS = _words(
    """
    Two Three Four Five Seven Nine Ten Twelve Thirteen Forty Hundred Thousand Seventeen
    Eleven
    """
)

# Title templates and how often each is used; fields come from the tuples here.
EN_TITLE_TEMPLATES = {
    "The {adjective} {noun}": 1.5,
    "{adjective} {noun}": 1,
    "The {noun} of {place}": 2.5,
    "{any_noun} of the {adjective} {any_noun2}": 3,
    "{preposition} the {any_noun}": 1,
    "{preposition} the {adjective} {any_noun}": 1,
    "{verb_ing} {plural}": 0.5,
    "{verb_ing} {first_name}": 0.5,
    "{first_name}'s {noun}": 1,
    "{number} {plural}": 0.5,
    "{adjective} {noun}: {subtitle} {adjective2} {noun2}": 1.5,
    "The {adjective} {noun}: {subtitle} {adjective2} {noun2}": 1,
    "{first_name} and {first_name2}": 0.5,
    "The {noun} and the {noun2}": 0.5,
}

EN_SEQUELS = (" 2", " 3", " II", " III", ": Part Two", ": The Return", " Returns")

# Subtitles after a colon: "Dark Star: The Last Signal".
EN_SUBTITLE_ARTICLES = ("The", "Return of the", "Rise of the", "Fall of the")

EN_PLACES = (
    "Paris",
    "Tokyo",
    "Texas",
    "Mars",
    "Venus",
    "Alaska",
    "Berlin",
    "Rome",
    "Cairo",
    "Havana",
    "Bombay",
    "Shanghai",
    "Hong Kong",
    "Manhattan",
    "Brooklyn",
    "Chicago",
    "Vegas",
    "Hollywood",
    "Tombstone",
    "Dodge City",
    "Montana",
    "Mexico",
    "Casablanca",
    "Vienna",
    "Venice",
    "Lisbon",
    "Istanbul",
    "London",
    "Dublin",
    "Scotland",
    "Sicily",
    "Siberia",
    "Tibet",
    "Borneo",
    "Atlantis",
    "Eden",
    "Babylon",
    "Troy",
    "Sparta",
    "Avalon",
    "Camelot",
    "Hawaii",
    "Malibu",
    "Santa Fe",
    "El Paso",
    "New Orleans",
    "Memphis",
    "Nashville",
    "Detroit",
    "Baltimore",
    "Boston",
    "Miami",
    "Key West",
    "Saturn",
    "Jupiter",
    "the Moon",
    "Andromeda",
    "Orion",
    "Pluto",
    "Titan",
    "Europa",
    "the Yukon",
    "the Amazon",
    "the Nile",
    "the Sahara",
    "the Andes",
    "the Alps",
    "the Arctic",
    "Antarctica",
)

EN_ROLES = (
    "detective",
    "nurse",
    "schoolteacher",
    "astronaut",
    "lawyer",
    "journalist",
    "firefighter",
    "boxer",
    "pianist",
    "chef",
    "farmer",
    "pilot",
    "surgeon",
    "photographer",
    "police officer",
    "bounty hunter",
    "hacker",
    "novelist",
    "con artist",
    "archaeologist",
    "marine biologist",
    "taxi driver",
    "soldier",
    "mechanic",
    "dancer",
    "rock musician",
    "stand-up comedian",
    "bank teller",
    "high school student",
    "college professor",
    "priest",
    "private investigator",
    "cattle rancher",
    "fashion designer",
    "tennis player",
    "war veteran",
    "engineer",
    "art thief",
    "social worker",
    "park ranger",
    "spy",
    "singer",
)

EN_TRAITS = (
    "retired",
    "young",
    "ambitious",
    "reclusive",
    "struggling",
    "brilliant",
    "disgraced",
    "lonely",
    "rebellious",
    "washed-up",
    "idealistic",
    "cynical",
    "small-town",
    "widowed",
    "down-on-their-luck",
    "eccentric",
    "gifted",
    "hot-headed",
    "naive",
    "former",
    "stubborn",
    "shy",
    "rookie",
    "legendary",
)

EN_EVENTS = (
    "a mysterious signal arrives from deep space",
    "a stranger arrives in town",
    "the family business goes bankrupt",
    "an ancient artifact is stolen from the museum",
    "a series of murders shakes the quiet town",
    "war breaks out",
    "the power fails across the whole city",
    "a letter from a long-lost friend arrives",
    "a storm cuts off the island from the mainland",
    "the colony ship loses contact with Earth",
    "a routine mission goes terribly wrong",
    "the mine collapses",
    "an old enemy is released from prison",
    "a child goes missing during the summer fair",
    "the championship is only weeks away",
    "a secret government program is exposed",
    "a meteor lands in the desert",
    "the circus comes to town",
    "an inheritance brings the family back together",
    "the last train leaves the station without them",
    "a deadly virus spreads through the city",
    "the band breaks up on the eve of their first tour",
    "a robbery at the bank goes wrong",
    "the dam threatens to burst",
    "aliens land in the middle of the county fair",
    "a talent scout spots a gift nobody else has seen",
)

EN_PAST_EVENTS = (
    "a tragic accident",
    "the war",
    "a failed heist",
    "a bitter divorce",
    "a scandal that ended a career",
    "the disappearance of a classmate",
    "a terrible fire",
    "the fall of the old regime",
    "a lost championship",
    "a shipwreck",
    "years in prison",
    "a broken engagement",
)

EN_GOAL_VERBS_THREAT = (
    "stop",
    "outwit",
    "escape",
    "expose",
    "track down",
    "bring down",
    "defeat",
    "survive",
    "hide from",
    "stand up to",
    "get even with",
)

EN_THREATS = (
    "a ruthless crime syndicate",
    "an alien invasion",
    "a corrupt sheriff",
    "a band of outlaws",
    "a cunning serial killer",
    "the Galactic Empire",
    "a powerful media tycoon",
    "an army of the undead",
    "a rogue artificial intelligence",
    "a gang of smugglers",
    "a vengeful ghost",
    "a tyrannical king",
    "a secret society",
    "a crooked politician",
    "a rival crew of thieves",
    "a giant sea monster",
    "an evil sorcerer",
    "a drug cartel",
    "a mad scientist",
    "the mob",
    "a shadowy corporation",
    "a pack of wolves",
    "a sadistic warden",
)


# Goals that are not about a threat, verb and object together.
EN_QUESTS = (
    "find a stolen painting",
    "recover the last map of the old mines",
    "rescue a missing child",
    "save the family ranch",
    "steal a priceless diamond",
    "find the lost city of gold",
    "uncover the truth about the accident",
    "return the crown jewels",
    "rescue a kidnapped princess",
    "protect a secret formula",
    "win the championship trophy",
    "win back an old friend",
    "keep the town's only school open",
    "hide a forbidden love",
    "find a legendary guitar",
    "deliver the plans of the new space station",
    "repair a derelict starship",
    "dig up a long-buried treasure",
    "rebuild the old lighthouse",
    "bring a runaway bride home",
    "clear the family name",
    "make it to the national finals",
    "get the band back together",
    "finish the last novel of a dead friend",
    "cross the desert on foot",
    "open a restaurant against all odds",
    "solve a murder nobody else cares about",
    "prove that the ghosts are real",
)

EN_REVELATIONS = (
    "the town has been hiding a terrible secret",
    "nothing is what it seems",
    "a trusted friend is working for the enemy",
    "the accident was no accident",
    "the treasure was never real",
    "the enemy is one of them",
    "the past is not finished with them yet",
    "the signal is a warning",
    "someone inside the family is behind it all",
    "the experiment is still running",
)

EN_DEADLINES = (
    "the sun rises",
    "the wedding",
    "the election",
    "the ship reaches orbit",
    "time runs out",
    "the police close in",
    "the storm hits",
    "winter comes",
    "the final race",
    "the money runs out",
    "the bomb goes off",
    "the curtain rises",
    "the last train leaves",
)

EN_STARTS = (
    "a harmless prank",
    "a simple favor",
    "a weekend getaway",
    "a routine job",
    "an innocent crush",
    "a friendly bet",
    "a school project",
    "a family reunion",
)

EN_TURNS = (
    "a fight for survival",
    "a nightmare",
    "the adventure of a lifetime",
    "a deadly game of cat and mouse",
    "an unlikely love story",
    "a race against time",
    "a war nobody can win",
    "a scandal that shakes the nation",
)

EN_RELATIONS = (
    "best friend",
    "former partner",
    "mentor",
    "neighbor",
    "rival",
    "boss",
    "childhood friend",
    "business partner",
    "lawyer",
    "roommate",
    "oldest friend",
)

EN_SIDE_ACTIONS = (
    "hides a dangerous secret",
    "falls in love with the wrong person",
    "plots revenge",
    "tries to keep the family together",
    "is drawn into the conflict",
    "makes a deal with the devil",
    "starts to suspect the truth",
    "has plans of their own",
)

EN_GROUPS = (
    "the townspeople",
    "a group of teenagers",
    "the crew",
    "the villagers",
    "a band of misfits",
    "the rebels",
    "the last survivors",
    "the students",
)

EN_GROUP_ACTIONS = (
    "prepare for the biggest festival of the year",
    "fight to keep their home",
    "hunt for a legendary creature",
    "are terrorized by something in the woods",
    "compete for a life-changing prize",
    "try to make contact with the visitors",
    "discover an underground world",
)

EN_ERAS = (
    "Chicago in the 1920s",
    "Paris during the occupation",
    "the distant future",
    "a galaxy far away",
    "the Wild West",
    "post-war London",
    "a small town in Texas",
    "ancient Rome",
    "the present day",
    "a remote research station",
    "Victorian England",
    "New York in the 1970s",
    "a dying planet",
)

# Sentence templates for plots; the fields are filled from the tuples above.
# A plot opens with a sentence that introduces {name}, then goes on.
EN_PLOT_OPENINGS = (
    "{name}, {a_trait} {role} from {place}, must {goal}.",
    "When {event}, {name} must {goal}.",
    "{name} and {name2} team up to {goal}.",
    "Set in {era}, the story follows {name}, {a_trait} {role}.",
    "{name}'s life changes forever when {event}.",
    "Years after {past_event}, {name} returns to {place} to {goal}.",
    "{a_trait} {role} named {name} is hired to {goal}.",
    "Haunted by {past_event}, {name} sets out to {goal}.",
    "In {place}, {group} {group_action}.",
)

EN_PLOT_FOLLOW_UPS = (
    "But {threat} is closer than anyone thinks.",
    "{name} discovers that {revelation}.",
    "Together they must {goal} before {deadline}.",
    "What begins as {start} soon turns into {turn}.",
    "Meanwhile, {name2}, {his} {relation}, {side_action}.",
    "Will {name} {goal} before it is too late?",
    "Based on a true story.",
    "{He} soon learns that {revelation}.",
    "With the help of {name2}, {a_trait} {role}, {he} tries to {goal}.",
    "{name} never wanted to be a hero.",
    "When {event}, {he} has no choice but to {goal}.",
    "Now {he} must {goal} before {deadline}.",
    "{name2} warns {him} that {threat} will not stop.",
)
