using Akka.Configuration;
using Liminal.Actors.Channels;
using Liminal.Actors.Dedup;
using Liminal.Actors.Entities;

namespace Liminal.Actors;

/// <summary>The bus's settings, read once from the <c>liminal { }</c> HOCON block.</summary>
public sealed record LiminalSettings
{
    /// <summary>The only clock the bus reads (claim times, TTLs); tests inject a fake.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    public string DedupNamespace { get; init; } = "default";
    public TimeSpan DedupTtl { get; init; } = TimeSpan.FromHours(24);
    public int DedupShards { get; init; } = 8;
    public TimeSpan DedupSweepInterval { get; init; } = TimeSpan.FromMinutes(1);
    public int DedupMaxKeysPerShard { get; init; } = 250_000;

    /// <summary>How long a channel partition knows a key after storing its message; null means <see cref="DedupTtl"/>.</summary>
    public TimeSpan? ChannelDedupWindow { get; init; }

    /// <summary>Keys a channel partition knows at most; the oldest are evicted first (counted and logged).</summary>
    public int ChannelDedupMaxKeysPerPartition { get; init; } = 250_000;

    /// <summary>Publishes a channel partition has in flight at most; beyond it a publish gets <c>PublishRejected(Overloaded)</c> at once.</summary>
    public int ChannelMaxPublishesInFlight { get; init; } = PartitionSettings.DefaultMaxPublishesInFlight;

    /// <summary>How long <c>CreateChannel</c> waits for its schema file (read off the registry) before it is rejected.</summary>
    public TimeSpan ChannelSchemaLoadTimeout { get; init; } = ChannelSchema.DefaultLoadTimeout;

    /// <summary>A conversation with no request for this long passivates (it comes back by replay).</summary>
    public TimeSpan ConversationIdleTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Finished messages beyond this many (oldest first) drop their step outputs; they stay finished.</summary>
    public int ConversationKeepOutputsOfFinished { get; init; } = 1_000;

    /// <summary>A delivery holds a message for this long after receiving it or recording for it; others get InProgress.</summary>
    public TimeSpan ConversationLease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A conversation remembers a message this long after it finished (or its last activity): the redelivery horizon.</summary>
    public TimeSpan ConversationRetention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>A consumer's offsets record with no request for this long passivates.</summary>
    public TimeSpan OffsetsIdleTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A pipeline remembers a processed event id (<c>RecordProcessed</c>) this long.</summary>
    public TimeSpan OffsetsRetention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>A persistent actor saves a snapshot after this many events.</summary>
    public int SnapshotEvery { get; init; } = 10_000;

    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The largest payload a publish may carry (and a step output, an error text): beyond it the request is rejected,
    /// typed. The host sizes Akka.Remote's frame to fit it.
    /// </summary>
    public int MaxPayloadBytes { get; init; } = Validation.InputRules.DefaultMaxPayloadBytes;

    /// <summary>How entity parents restart failed entities and how much they buffer meanwhile.</summary>
    public EntityParentSettings Entities { get; init; } = EntityParentSettings.Default;

    public IReadOnlyList<ChannelDefinition> Channels { get; init; } = [];

    /// <summary>Liminal's own defaults: the <c>liminal.conf</c> shipped inside the library.</summary>
    public static Config DefaultConfig { get; } = LoadDefaults();

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
        var liminal = config.WithFallback(DefaultConfig).GetConfig("liminal");
        var problems = new List<string>();

        var defaults = new LiminalSettings();
        T Read<T>(string key, Func<string, T> read, T fallback)
        {
            try
            {
                return read(key);
            }
            catch (Exception error) when (error is not OutOfMemoryException)
            {
                problems.Add($"liminal.{key}: '{liminal.GetValue(key)}' is not valid here ({error.Message})");
                return fallback;
            }
        }

        var settings = new LiminalSettings
        {
            DedupNamespace = Read("dedup.namespace", k => liminal.GetString(k), defaults.DedupNamespace),
            DedupTtl = Read("dedup.ttl", k => liminal.GetTimeSpan(k), defaults.DedupTtl),
            DedupShards = Read("dedup.shards", k => liminal.GetInt(k), defaults.DedupShards),
            DedupSweepInterval = Read("dedup.sweep-interval", k => liminal.GetTimeSpan(k), defaults.DedupSweepInterval),
            DedupMaxKeysPerShard = Read("dedup.max-keys-per-shard", k => liminal.GetInt(k), defaults.DedupMaxKeysPerShard),
            ChannelDedupWindow = Read("channel-dedup.window", k => liminal.HasPath(k) ? liminal.GetTimeSpan(k) : (TimeSpan?)null, defaults.ChannelDedupWindow),
            ChannelDedupMaxKeysPerPartition = Read("channel-dedup.max-keys-per-partition", k => liminal.GetInt(k), defaults.ChannelDedupMaxKeysPerPartition),
            ChannelMaxPublishesInFlight = Read("channel-limits.max-publishes-in-flight", k => liminal.GetInt(k), defaults.ChannelMaxPublishesInFlight),
            ChannelSchemaLoadTimeout = Read("channel-limits.schema-load-timeout", k => liminal.GetTimeSpan(k), defaults.ChannelSchemaLoadTimeout),
            ConversationIdleTimeout = Read("conversations.idle-timeout", k => liminal.GetTimeSpan(k), defaults.ConversationIdleTimeout),
            ConversationKeepOutputsOfFinished = Read("conversations.keep-outputs-of-finished", k => liminal.GetInt(k), defaults.ConversationKeepOutputsOfFinished),
            ConversationLease = Read("conversations.lease", k => liminal.GetTimeSpan(k), defaults.ConversationLease),
            ConversationRetention = Read("conversations.retention", k => liminal.GetTimeSpan(k), defaults.ConversationRetention),
            OffsetsIdleTimeout = Read("offsets.idle-timeout", k => liminal.GetTimeSpan(k), defaults.OffsetsIdleTimeout),
            OffsetsRetention = Read("offsets.retention", k => liminal.GetTimeSpan(k), defaults.OffsetsRetention),
            SnapshotEvery = Read("snapshot-every", k => liminal.GetInt(k), defaults.SnapshotEvery),
            DrainTimeout = Read("drain-timeout", k => liminal.GetTimeSpan(k), defaults.DrainTimeout),
            MaxPayloadBytes = Read("max-payload-bytes", k => checked((int)(liminal.GetByteSize(k) ?? defaults.MaxPayloadBytes)), defaults.MaxPayloadBytes),
            Entities = new EntityParentSettings(
                Read("entities.min-backoff", k => liminal.GetTimeSpan(k), defaults.Entities.MinBackoff),
                Read("entities.max-backoff", k => liminal.GetTimeSpan(k), defaults.Entities.MaxBackoff),
                Read("entities.buffer-size", k => liminal.GetInt(k), defaults.Entities.BufferSize)),
            Channels = ReadChannels(liminal, problems),
        };

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
        var channels = new List<ChannelDefinition>();
        var list = liminal.GetValue("channels")?.GetArray() ?? [];
        for (var i = 0; i < list.Count; i++)
        {
            var item = list[i].GetObject();
            var name = item.GetKey("name")?.GetString();
            if (string.IsNullOrWhiteSpace(name))
            {
                problems.Add($"liminal.channels[{i}].name: missing");
                continue;
            }
            channels.Add(new ChannelDefinition(
                name,
                item.GetKey("durable")?.GetBoolean() ?? false,
                item.GetKey("schema")?.GetString(),
                item.GetKey("partitions")?.GetInt() ?? 1));
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
