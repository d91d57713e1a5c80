using Akka.Configuration;
using Liminal.Actors.Channels;
using Liminal.Actors.Dedup;
using Liminal.Actors.Entities;

namespace Liminal.Actors;

/// <summary>The bus's settings, read once from the <c>liminal { }</c> HOCON block.</summary>
public sealed record LiminalSettings
{
    /// <summary>The only clock the bus reads (claim times, TTLs); tests inject a fake.</summary>
    public TimeProvider Clock { get; init; }

    public string DedupNamespace { get; init; }
    public TimeSpan DedupTtl { get; init; }
    public int DedupShards { get; init; }
    public TimeSpan DedupSweepInterval { get; init; }
    public int DedupMaxKeysPerShard { get; init; }

    /// <summary>How long a channel partition knows a key after storing its message; null means <see cref="DedupTtl"/>.</summary>
    public TimeSpan? ChannelDedupWindow { get; init; }

    /// <summary>Keys a channel partition knows at most; the oldest are evicted first (counted and logged).</summary>
    public int ChannelDedupMaxKeysPerPartition { get; init; }

    /// <summary>Publishes a channel partition has in flight at most; beyond it a publish gets <c>PublishRejected(Overloaded)</c> at once.</summary>
    public int ChannelMaxPublishesInFlight { get; init; }

    /// <summary>How long <c>CreateChannel</c> waits for its schema file (read off the registry) before it is rejected.</summary>
    public TimeSpan ChannelSchemaLoadTimeout { get; init; }

    /// <summary>A conversation with no request for this long passivates (it comes back by replay).</summary>
    public TimeSpan ConversationIdleTimeout { get; init; }

    /// <summary>Finished messages beyond this many (oldest first) drop their step outputs; they stay finished.</summary>
    public int ConversationKeepOutputsOfFinished { get; init; }

    /// <summary>A delivery holds a message for this long after receiving it or recording for it; others get InProgress.</summary>
    public TimeSpan ConversationLease { get; init; }

    /// <summary>A conversation remembers a message this long after it finished (or its last activity): the redelivery horizon.</summary>
    public TimeSpan ConversationRetention { get; init; }

    /// <summary>A consumer's offsets record with no request for this long passivates.</summary>
    public TimeSpan OffsetsIdleTimeout { get; init; }

    /// <summary>A pipeline remembers a processed event id (<c>RecordProcessed</c>) this long.</summary>
    public TimeSpan OffsetsRetention { get; init; }

    /// <summary>A persistent actor saves a snapshot after this many events.</summary>
    public int SnapshotEvery { get; init; }

    public TimeSpan DrainTimeout { get; init; }

    /// <summary>
    /// The largest payload a publish may carry (and a step output, an error text): beyond it the request is rejected,
    /// typed. The host sizes Akka.Remote's frame to fit it.
    /// </summary>
    public int MaxPayloadBytes { get; init; }

    /// <summary>How entity parents restart failed entities and how much they buffer meanwhile.</summary>
    public EntityParentSettings Entities { get; init; }

    public IReadOnlyList<ChannelDefinition> Channels { get; init; }

    /// <summary>Liminal's own defaults: the <c>liminal.conf</c> shipped inside the library, their only source.</summary>
    public static Config DefaultConfig { get; } = LoadDefaults();

    /// <summary>The settings <see cref="DefaultConfig"/> describes; <c>new LiminalSettings { ... }</c> starts from them.</summary>
    public static LiminalSettings Default { get; } = FromConfig(Config.Empty);

    /// <summary>The shipped defaults, to be overridden with <c>with</c>-style initializers.</summary>
    public LiminalSettings() : this(Default)
    {
    }

    /// <summary>
    /// Reads every value of the <c>liminal</c> block; a value that cannot be read is reported in
    /// <paramref name="problems"/> and the shipped default stands in for it.
    /// </summary>
    private LiminalSettings(Config liminal, List<string> problems)
    {
        var shipped = DefaultConfig.GetConfig("liminal");
        T Read<T>(string key, Func<Config, string, T> read)
        {
            try
            {
                return read(liminal, key);
            }
            catch (Exception error) when (error is not OutOfMemoryException)
            {
                problems.Add($"liminal.{key}: '{liminal.GetValue(key)}' is not valid here ({error.Message})");
                return read(shipped, key);
            }
        }

        Clock = TimeProvider.System;
        DedupNamespace = Read("dedup.namespace", (c, k) => c.GetString(k));
        DedupTtl = Read("dedup.ttl", (c, k) => c.GetTimeSpan(k));
        DedupShards = Read("dedup.shards", (c, k) => c.GetInt(k));
        DedupSweepInterval = Read("dedup.sweep-interval", (c, k) => c.GetTimeSpan(k));
        DedupMaxKeysPerShard = Read("dedup.max-keys-per-shard", (c, k) => c.GetInt(k));
        ChannelDedupWindow = Read("channel-dedup.window", (c, k) => c.HasPath(k) ? c.GetTimeSpan(k) : (TimeSpan?)null);
        ChannelDedupMaxKeysPerPartition = Read("channel-dedup.max-keys-per-partition", (c, k) => c.GetInt(k));
        ChannelMaxPublishesInFlight = Read("channel-limits.max-publishes-in-flight", (c, k) => c.GetInt(k));
        ChannelSchemaLoadTimeout = Read("channel-limits.schema-load-timeout", (c, k) => c.GetTimeSpan(k));
        ConversationIdleTimeout = Read("conversations.idle-timeout", (c, k) => c.GetTimeSpan(k));
        ConversationKeepOutputsOfFinished = Read("conversations.keep-outputs-of-finished", (c, k) => c.GetInt(k));
        ConversationLease = Read("conversations.lease", (c, k) => c.GetTimeSpan(k));
        ConversationRetention = Read("conversations.retention", (c, k) => c.GetTimeSpan(k));
        OffsetsIdleTimeout = Read("offsets.idle-timeout", (c, k) => c.GetTimeSpan(k));
        OffsetsRetention = Read("offsets.retention", (c, k) => c.GetTimeSpan(k));
        SnapshotEvery = Read("snapshot-every", (c, k) => c.GetInt(k));
        DrainTimeout = Read("drain-timeout", (c, k) => c.GetTimeSpan(k));
        MaxPayloadBytes = Read("max-payload-bytes", (c, k) => checked((int)(c.GetByteSize(k) ?? throw new FormatException("not a size"))));
        Entities = new EntityParentSettings(
            Read("entities.min-backoff", (c, k) => c.GetTimeSpan(k)),
            Read("entities.max-backoff", (c, k) => c.GetTimeSpan(k)),
            Read("entities.buffer-size", (c, k) => c.GetInt(k)));
        Channels = ReadChannels(liminal, problems);
    }

    /// <summary>
    /// Reads the <c>liminal</c> block of <paramref name="config"/> (falling back to the shipped defaults) and
    /// reports every invalid value at once.
    /// </summary>
    public static LiminalSettings FromConfig(Config config)
    {
        var (settings, problems) = Read(config);
        return problems.Count == 0 ? settings : throw new LiminalConfigurationException(problems);
    }

    /// <summary>Reads the settings as far as they are readable (defaults where not) and every problem found.</summary>
    public static (LiminalSettings Settings, IReadOnlyList<string> Problems) Read(Config config)
    {
        var liminal = (config.IsEmpty ? DefaultConfig : config.WithFallback(DefaultConfig)).GetConfig("liminal");
        var problems = new List<string>();
        var settings = new LiminalSettings(liminal, problems);
        problems.AddRange(settings.Validate());
        return (settings, problems);
    }

    /// <summary>Every problem with these settings, each naming its HOCON key; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        // Part of an actor name and of every shard's persistence id: a '/' or a space would only fail when the bus starts.
        if (Validation.InputRules.DedupNamespace.Problem(DedupNamespace) is { } namespaceProblem)
            problems.Add($"liminal.dedup.namespace: '{DedupNamespace}': {namespaceProblem}");
        if (DedupTtl <= TimeSpan.Zero)
            problems.Add($"liminal.dedup.ttl: {DedupTtl} must be positive");
        if (DedupShards < 1)
            problems.Add($"liminal.dedup.shards: {DedupShards} must be at least 1");
        if (DedupSweepInterval <= TimeSpan.Zero)
            problems.Add($"liminal.dedup.sweep-interval: {DedupSweepInterval} must be positive");
        if (DedupMaxKeysPerShard < 1)
            problems.Add($"liminal.dedup.max-keys-per-shard: {DedupMaxKeysPerShard} must be at least 1");
        if (ChannelDedupWindow is { } window && window <= TimeSpan.Zero)
            problems.Add($"liminal.channel-dedup.window: {window} must be positive");
        if (ChannelDedupMaxKeysPerPartition < 1)
            problems.Add($"liminal.channel-dedup.max-keys-per-partition: {ChannelDedupMaxKeysPerPartition} must be at least 1");
        if (ChannelMaxPublishesInFlight < 1)
            problems.Add($"liminal.channel-limits.max-publishes-in-flight: {ChannelMaxPublishesInFlight} must be at least 1");
        if (ChannelSchemaLoadTimeout <= TimeSpan.Zero)
            problems.Add($"liminal.channel-limits.schema-load-timeout: {ChannelSchemaLoadTimeout} must be positive");
        if (ConversationIdleTimeout <= TimeSpan.Zero)
            problems.Add($"liminal.conversations.idle-timeout: {ConversationIdleTimeout} must be positive");
        if (ConversationKeepOutputsOfFinished < 0)
            problems.Add($"liminal.conversations.keep-outputs-of-finished: {ConversationKeepOutputsOfFinished} must not be negative");
        if (ConversationLease <= TimeSpan.Zero)
            problems.Add($"liminal.conversations.lease: {ConversationLease} must be positive");
        if (ConversationRetention <= TimeSpan.Zero)
            problems.Add($"liminal.conversations.retention: {ConversationRetention} must be positive");
        if (OffsetsIdleTimeout <= TimeSpan.Zero)
            problems.Add($"liminal.offsets.idle-timeout: {OffsetsIdleTimeout} must be positive");
        if (OffsetsRetention <= TimeSpan.Zero)
            problems.Add($"liminal.offsets.retention: {OffsetsRetention} must be positive");
        if (SnapshotEvery < 1)
            problems.Add($"liminal.snapshot-every: {SnapshotEvery} must be at least 1");
        if (DrainTimeout < TimeSpan.Zero)
            problems.Add($"liminal.drain-timeout: {DrainTimeout} must not be negative");
        if (MaxPayloadBytes is < Validation.InputRules.MinMaxPayloadBytes or > Validation.InputRules.MaxMaxPayloadBytes)
            problems.Add($"liminal.max-payload-bytes: {MaxPayloadBytes} must be {Validation.InputRules.MinMaxPayloadBytes} to {Validation.InputRules.MaxMaxPayloadBytes}");
        if (Entities.MinBackoff <= TimeSpan.Zero || Entities.MaxBackoff < Entities.MinBackoff)
            problems.Add("liminal.entities: min-backoff must be positive and not above max-backoff");
        if (Entities.BufferSize < 1)
            problems.Add($"liminal.entities.buffer-size: {Entities.BufferSize} must be at least 1");
        return problems;
    }

    internal DedupShardSettings DedupShard =>
        new(DedupNamespace, new DedupPolicy(DedupTtl, DedupMaxKeysPerShard), DedupSweepInterval, SnapshotEvery, Clock);

    internal PartitionSettings Partition =>
        new(ChannelDedupWindow ?? DedupTtl, ChannelDedupMaxKeysPerPartition, SnapshotEvery, Clock)
        {
            MaxPayloadBytes = MaxPayloadBytes, MaxPublishesInFlight = ChannelMaxPublishesInFlight,
        };

    internal Conversations.ConversationSettings Conversation =>
        new(new Conversations.ConversationPolicy(ConversationKeepOutputsOfFinished)
            {
                Lease = ConversationLease, Retention = ConversationRetention, MaxOutputBytes = MaxPayloadBytes,
            },
            ConversationIdleTimeout, SnapshotEvery, Clock);

    internal Offsets.OffsetsSettings Offsets => new(SnapshotEvery, OffsetsIdleTimeout, OffsetsRetention, Clock);

    private static List<ChannelDefinition> ReadChannels(Config liminal, List<string> problems)
    {
        // Every value here may come from appsettings.json, the environment or the command line as any text: a value
        // that is not what its field needs is a problem named by its key, never an exception out of the host's start.
        T? Field<T>(string key, Func<T> read)
        {
            try
            {
                return read();
            }
            catch (Exception error) when (error is not OutOfMemoryException)
            {
                problems.Add($"liminal.{key}: not valid here ({error.Message})");
                return default;
            }
        }

        var channels = new List<ChannelDefinition>();
        var value = liminal.GetValue("channels");
        // An empty list is neither array nor string to Akka's HOCON; an empty string (e.g. a variable set to "") is no channels.
        if (value is not null && (value.IsObject() || (value.IsString() && value.GetString().Length > 0)))
            problems.Add($"liminal.channels: '{value}' is not a list of channels");
        var list = value is not null && value.IsArray() ? value.GetArray() : [];
        for (var i = 0; i < list.Count; i++)
        {
            var at = $"channels[{i}]";
            var item = Field(at, () => list[i].IsObject() ? list[i].GetObject() : null);
            if (item is null)
            {
                problems.Add($"liminal.{at}: '{list[i]}' is not a channel (an object with name, durable, schema, partitions)");
                continue;
            }
            var name = Field($"{at}.name", () => item.GetKey("name")?.GetString());
            if (string.IsNullOrWhiteSpace(name))
            {
                problems.Add($"liminal.{at}.name: missing");
                continue;
            }
            var problemsBefore = problems.Count;
            var durable = Field($"{at}.durable", () => item.GetKey("durable")?.GetBoolean() ?? false);
            var schema = Field($"{at}.schema", () => item.GetKey("schema")?.GetString());
            var partitions = Field($"{at}.partitions", () => item.GetKey("partitions")?.GetInt() ?? 1);
            var maxAge = Field($"{at}.max-age", () => item.GetKey("max-age") is { } age ? age.GetTimeSpan(allowInfinite: false) : (TimeSpan?)null);
            var maxMessages = Field($"{at}.max-messages-per-partition", () => item.GetKey("max-messages-per-partition")?.GetLong());
            if (problems.Count == problemsBefore)
                channels.Add(new ChannelDefinition(name, durable, schema, partitions) { MaxAge = maxAge, MaxMessagesPerPartition = maxMessages });
        }
        return channels;
    }

    private static Config LoadDefaults()
    {
        using var stream = typeof(LiminalSettings).Assembly.GetManifestResourceStream("Liminal.Actors.liminal.conf")
                           ?? throw new InvalidOperationException("liminal.conf is not embedded in Liminal.Actors");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd()).WithFallback(LiminalWireSerializer.Binding);
    }
}
