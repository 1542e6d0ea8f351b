/// A request refused with a status: thrown by the parser, by a body that breaks a limit,
/// or by a handler as a short way to answer (`throw HTTPError(.notFound, "no such key")`).
/// The server answers it with `message` as a plain-text body.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPStatus
    public var message: String
    /// Fields the answer carries, such as `Allow` on a 405.
    public var headers: HTTPHeaders

    public init(_ status: HTTPStatus, _ message: String, headers: HTTPHeaders = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status): \(message)" }

    /// The answer: the status, the fields, and the message and a newline as text.
    public var response: HTTPResponse {
        var response = HTTPResponse.text(status, message + "\n")
        for field in headers { response.headers.add(field.name, field.value) }
        return response
    }

    static func badRequest(_ message: String) -> HTTPError { HTTPError(.badRequest, message) }
}
