import CLibPQ

/// The object identifiers of the built-in types this client binds and decodes (from
/// PostgreSQL's `pg_type.dat`; they are fixed across versions).
enum PostgresTypeOID {
    static let bool: Oid = 16
    static let bytea: Oid = 17
    static let name: Oid = 19
    static let int8: Oid = 20
    static let int2: Oid = 21
    static let int4: Oid = 23
    static let text: Oid = 25
    static let oid: Oid = 26
    static let float4: Oid = 700
    static let float8: Oid = 701
    static let unknown: Oid = 705
    static let bpchar: Oid = 1042
    static let varchar: Oid = 1043
    static let numeric: Oid = 1700

    static let integers: Set<Oid> = [int2, int4, int8, oid]
    static let floats: Set<Oid> = [float4, float8, numeric]
    static let texts: Set<Oid> = [text, varchar, bpchar, name, unknown]

    /// A name for error messages.
    static func name(of type: Oid) -> String {
        switch type {
        case bool: return "boolean"
        case bytea: return "bytea"
        case name: return "name"
        case int8: return "bigint"
        case int2: return "smallint"
        case int4: return "integer"
        case text: return "text"
        case oid: return "oid"
        case float4: return "real"
        case float8: return "double precision"
        case unknown: return "unknown"
        case bpchar: return "character"
        case varchar: return "character varying"
        case numeric: return "numeric"
        default: return "type \(type)"
        }
    }
}
