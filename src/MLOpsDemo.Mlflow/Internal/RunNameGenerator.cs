namespace MLOpsDemo.Mlflow.Internal;

/// <summary>Generates run names in MLflow's style: <c>adjective-noun-NNN</c>.</summary>
internal static class RunNameGenerator
{
    private static readonly string[] s_adjectives =
    [
        "able", "bold", "bright", "calm", "capable", "clean", "clever", "crisp", "dapper", "defiant", "delicate", "efficient",
        "enchanting", "fearless", "funny", "gaudy", "gentle", "gifted", "glamorous", "grandiose", "handsome", "honorable",
        "indecisive", "judicious", "kindly", "languid", "learned", "legendary", "likeable", "loud", "luminous", "masked",
        "melodic", "merciful", "mercurial", "monumental", "nebulous", "omniscient", "orderly", "overjoyed", "peaceful",
        "placid", "polite", "popular", "powerful", "puzzled", "redolent", "resilient", "rogue", "rumbling", "salty",
        "sassy", "secretive", "selective", "sedate", "serious", "shivering", "skillful", "sincere", "smiling", "spiffy",
        "stately", "stylish", "suave", "tasteful", "thoughtful", "trusting", "unequaled", "upbeat", "valuable", "victorious",
        "vaunted", "welcoming", "wise", "worried", "youthful", "zealous",
    ];

    private static readonly string[] s_nouns =
    [
        "ant", "ape", "asp", "auk", "bass", "bat", "bear", "bee", "bird", "boar", "bug", "calf", "carp", "cat", "chimp",
        "cod", "colt", "conch", "cow", "crab", "crane", "croc", "crow", "cub", "deer", "doe", "dog", "dolphin", "donkey",
        "dove", "duck", "eel", "elk", "fawn", "finch", "fish", "flea", "fly", "foal", "fowl", "fox", "frog", "gnat", "gnu",
        "goat", "goose", "grouse", "grub", "gull", "hare", "hawk", "hen", "hog", "horse", "hound", "jay", "kit", "kite",
        "koi", "lamb", "lark", "loon", "lynx", "mare", "midge", "mink", "mole", "moose", "moth", "mouse", "mule", "newt",
        "owl", "ox", "panda", "penguin", "perch", "pig", "pug", "quail", "ram", "rat", "ray", "robin", "roo", "rook", "seal",
        "shad", "shark", "sheep", "shoat", "shrew", "shrike", "shrimp", "skink", "skunk", "sloth", "slug", "smelt", "snail",
        "snake", "snipe", "sow", "sponge", "squid", "squirrel", "stag", "steed", "stoat", "stork", "swan", "tern", "toad",
        "trout", "turtle", "vole", "wasp", "whale", "wolf", "worm", "wren", "yak", "zebra",
    ];

    /// <summary>Returns a name such as <c>bold-owl-512</c>.</summary>
    public static string Generate()
    {
        var random = Random.Shared;
        return $"{s_adjectives[random.Next(s_adjectives.Length)]}-{s_nouns[random.Next(s_nouns.Length)]}-{random.Next(1000)}";
    }
}
